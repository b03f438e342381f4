using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary>
/// <c>trustlaunch tpm make-credential</c>: what a registrar does, offline: seals a secret to an EK, bound to an AK
/// name, in tpm2-tools' credential file format (<c>tpm2_makecredential -T none -o</c>). Needs no TPM.
/// </summary>
public static class TpmMakeCredentialCommand
{
    public static Command Create(GlobalOptions options)
    {
        var ek = new Option<FileInfo>("--ek")
        {
            Description = "EK public area: TPM2B_PUBLIC (tpm2_createek -u, trustlaunch tpm ek --out), or a PEM key of a default-template EK (RSA 2048 or ECC P-256)",
            HelpName = "FILE",
            Required = true,
        };
        var akName = CliParsers.HexOption("--ak-name", "AK name", "Name of the key the credential is bound to, in hex (nameAlg || digest)", 2 + TpmHash.MaxDigestSize);
        var secret = CliParsers.HexOption("--secret", "secret", "The secret to seal, in hex (at most the EK nameAlg's digest size)", TpmHash.MaxDigestSize);
        var output = new Option<FileInfo>("--out") { Description = "Write the credential file here", HelpName = "FILE", Required = true };
        var command = new Command("make-credential", "Seal a secret to an EK, bound to an AK name (tpm2-tools credential file)")
        {
            ek, akName, secret, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ekFile = parse.GetValue(ek)!.FullName;
            var ekPublic = LoadEk(await File.ReadAllBytesAsync(ekFile, ct).ConfigureAwait(false), ekFile);
            var made = CredentialMaker.Make(ekPublic, parse.GetValue(akName)!, parse.GetValue(secret)!);
            var outFile = parse.GetValue(output)!.FullName;
            await File.WriteAllBytesAsync(outFile, made.ToTpm2ToolsFile(), ct).ConfigureAwait(false);
            var result = new MakeCredentialResult(CliParsers.Hex(ekPublic.ComputeName()), outFile);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.MakeCredentialResult,
                (w, r) => w.WriteLine($"wrote {r.OutFile}")).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>TPM2B_PUBLIC as is; a PEM key is placed into the TCG default EK template of its type.</summary>
    private static TpmPublic LoadEk(byte[] contents, string path)
    {
        try
        {
            if (!contents.AsSpan().TrimStart(" \t\r\n"u8).StartsWith("-----BEGIN"u8))
                return TpmPublic.ParseTpm2b(contents);
            using var key = AkPublicKeys.Load(contents);
            switch (key)
            {
                case RSA rsa when rsa.KeySize == 2048:
                    var p = rsa.ExportParameters(false);
                    if (p.Exponent is not [0x01, 0x00, 0x01])
                        throw new CliUsageException($"{path}: the default RSA EK template has exponent 65537");
                    return TpmTemplates.EkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, p.Modulus!) };
                case ECDsa ecc when ecc.KeySize == 256:
                    var q = ecc.ExportParameters(false).Q;
                    return TpmTemplates.EkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, q.X!, q.Y!) };
                default:
                    throw new CliUsageException(
                        $"{path}: a PEM EK must be RSA 2048 or ECC P-256 (the TCG default templates); give other EKs as TPM2B_PUBLIC");
            }
        }
        catch (TpmFormatException e)
        {
            throw new CliUsageException($"{path}: {e.Message}");
        }
    }
}
