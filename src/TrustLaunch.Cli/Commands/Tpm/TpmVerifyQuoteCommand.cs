using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary>
/// <c>trustlaunch tpm verify-quote</c>: checks a quote in the files <c>tpm2_quote -m -s -o -F values</c> writes against
/// an AK public key (a TPM2B_PUBLIC must be a restricted signing key with fixedTPM and fixedParent) and the nonce the
/// verifier chose (16 bytes or more). SHA-1 is refused unless <c>--allow-sha1</c>. Needs no TPM. Prints <c>valid</c> (exit 0) or the one reason
/// it is not (exit 1).
/// </summary>
public static class TpmVerifyQuoteCommand
{
    public static Command Create(GlobalOptions options)
    {
        var ak = InputFile("--ak", "AK public key: PEM (tpm2_createak -f pem) or TPM2B_PUBLIC (tpm2_createak -u)");
        var message = InputFile("--message", "The quote: TPMS_ATTEST bytes (tpm2_quote -m)");
        var signature = InputFile("--signature", "The signature: TPMT_SIGNATURE bytes (tpm2_quote -s)");
        var pcrValues = InputFile("--pcr-values", "PCR values concatenated in the quote's selection order (tpm2_quote -o F -F values)");
        var nonce = CliParsers.HexOption("--nonce", "nonce", "The nonce the quote must carry, in hex", TpmQuoteCommand.MaxNonceBytes);
        var allowSha1 = new Option<bool>("--allow-sha1")
        {
            Description = "Accept SHA-1 as the signature hash, PCR bank and PCR digest (refused by default)",
        };
        var command = new Command("verify-quote", "Verify a quote's signature, nonce and PCR digest (no TPM needed)")
        {
            ak, message, signature, pcrValues, nonce, allowSha1,
        };
        command.SetAction(async (parse, ct) =>
        {
            var akFile = parse.GetValue(ak)!.FullName;
            using var key = LoadAk(await File.ReadAllBytesAsync(akFile, ct).ConfigureAwait(false), akFile);
            var attest = await File.ReadAllBytesAsync(parse.GetValue(message)!.FullName, ct).ConfigureAwait(false);
            var sig = await File.ReadAllBytesAsync(parse.GetValue(signature)!.FullName, ct).ConfigureAwait(false);
            var values = await File.ReadAllBytesAsync(parse.GetValue(pcrValues)!.FullName, ct).ConfigureAwait(false);

            var verification = new QuoteVerificationOptions { AllowSha1 = parse.GetValue(allowSha1) };
            var verdict = QuoteVerifier.Verify(key, attest, sig, values, parse.GetValue(nonce)!, options: verification);
            var clock = verdict.Attest?.ClockInfo;
            var result = new VerifyQuoteResult(
                verdict.IsValid,
                verdict.Reason,
                verdict.Attest is { PcrSelections: var s } ? string.Join('+', s) : null,
                clock?.Clock,
                clock?.ResetCount,
                clock?.RestartCount);
            await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.VerifyQuoteResult,
                (w, r) => w.WriteLine(r.Reason)).ConfigureAwait(false);
            return verdict.IsValid ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static AsymmetricAlgorithm LoadAk(byte[] contents, string path)
    {
        try
        {
            return AkPublicKeys.LoadAttestationKey(contents);
        }
        catch (TpmFormatException e)
        {
            throw new CliUsageException($"{path}: {e.Message}");
        }
    }

    private static Option<FileInfo> InputFile(string name, string description) =>
        new(name) { Description = description, HelpName = "FILE", Required = true };
}
