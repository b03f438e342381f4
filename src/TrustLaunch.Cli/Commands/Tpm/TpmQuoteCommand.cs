using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary>
/// <c>trustlaunch tpm quote</c>: writes what <c>tpm2_quote -m -s -o -F values</c> writes (raw TPMS_ATTEST, TPMT_SIGNATURE,
/// PCR values concatenated in selection order), with PCR values that match the quote's pcrDigest.
/// </summary>
public static class TpmQuoteCommand
{
    /// <summary>TPM2B_DATA holds at most sizeof(TPMU_HA).</summary>
    public const int MaxNonceBytes = 64;
    public const int MaxAttempts = 5;

    public static Command Create(GlobalOptions options)
    {
        var ak = CliParsers.HandleOption("--ak", "Handle of the attestation key, e.g. 0x81010002");
        var nonce = CliParsers.HexOption("--nonce", "nonce", "Qualifying data (the verifier's nonce) in hex", MaxNonceBytes);
        var pcrs = new Option<string>("--pcrs") { Description = "PCRs to quote, e.g. sha256:0,1,15 (banks joined with +)", HelpName = "SELECTION", Required = true };
        var message = FileOption("--message", "Write the quote (TPMS_ATTEST) here");
        var signature = FileOption("--signature", "Write the signature (TPMT_SIGNATURE) here");
        var pcrValues = FileOption("--pcr-values", "Write the PCR values, concatenated in selection order, here");
        var command = new Command("quote", "Quote PCRs with an attestation key") { ak, nonce, pcrs, message, signature, pcrValues };
        command.SetAction(async (parse, ct) =>
        {
            var selection = PcrSelection.ParseList(parse.GetValue(pcrs)!);
            var qualifyingData = parse.GetValue(nonce)!;
            var akHandle = parse.GetValue(ak);
            using var device = options.OpenTpm(parse);
            var (quote, attest, values, attempts) = await QuoteAsync(device, akHandle, qualifyingData, selection, ct).ConfigureAwait(false);

            var messageFile = parse.GetValue(message);
            var signatureFile = parse.GetValue(signature);
            var valuesFile = parse.GetValue(pcrValues);
            var signatureBytes = quote.Signature.ToBytes();
            var valuesBytes = values.Concatenate();
            if (messageFile is not null)
                await File.WriteAllBytesAsync(messageFile.FullName, quote.Attest, ct).ConfigureAwait(false);
            if (signatureFile is not null)
                await File.WriteAllBytesAsync(signatureFile.FullName, signatureBytes, ct).ConfigureAwait(false);
            if (valuesFile is not null)
                await File.WriteAllBytesAsync(valuesFile.FullName, valuesBytes, ct).ConfigureAwait(false);

            var result = new QuoteResult(
                CliParsers.FormatHandle(akHandle),
                CliParsers.Hex(qualifyingData),
                string.Join('+', attest.PcrSelections),
                CliParsers.Hex(attest.PcrDigest),
                CliParsers.Hex(quote.Attest),
                CliParsers.Hex(signatureBytes),
                CliParsers.Hex(valuesBytes),
                attempts,
                messageFile?.FullName,
                signatureFile?.FullName,
                valuesFile?.FullName);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.QuoteResult, WriteText).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// Reads the PCRs, then quotes them. If a PCR was extended in between, the values would not hash to the quote's
    /// pcrDigest, so read and quote again, up to <see cref="MaxAttempts"/> times.
    /// </summary>
    public static async Task<(SignedAttestation Quote, TpmAttest Attest, PcrValues Values, int Attempts)> QuoteAsync(
        TpmDevice device, uint akHandle, byte[] nonce, IReadOnlyList<PcrSelection> selection, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var values = await device.ReadPcrsAsync(selection, ct).ConfigureAwait(false);
            var quote = await device.QuoteAsync(akHandle, nonce, selection, ct).ConfigureAwait(false);
            var attest = TpmAttest.Parse(quote.Attest);
            if (attest.Type != TpmSt.AttestQuote || !attest.PcrSelections.SequenceEqual(selection))
                throw new CliFailureException($"the TPM quoted {string.Join('+', attest.PcrSelections)}, not the requested {string.Join('+', selection)}");
            var digest = values.ComputeDigest(quote.Signature.Hash);
            if (digest.AsSpan().SequenceEqual(attest.PcrDigest))
                return (quote, attest, values, attempt);
            if (attempt == MaxAttempts)
                throw new CliFailureException($"PCRs changed between reading and quoting {MaxAttempts} times in a row; try again");
        }
    }

    private static Option<FileInfo?> FileOption(string name, string description) =>
        new(name) { Description = description, HelpName = "FILE" };

    private static void WriteText(TextWriter w, QuoteResult r)
    {
        w.WriteLine($"ak:         {r.Ak}");
        w.WriteLine($"nonce:      {r.Nonce}");
        w.WriteLine($"pcrs:       {r.Pcrs}");
        w.WriteLine($"pcr digest: {r.PcrDigest}");
        if (r.MessageFile is not null)
            w.WriteLine($"message:    {r.MessageFile}");
        if (r.SignatureFile is not null)
            w.WriteLine($"signature:  {r.SignatureFile}");
        if (r.PcrValuesFile is not null)
            w.WriteLine($"pcr values: {r.PcrValuesFile}");
    }
}
