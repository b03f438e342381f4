using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary>
/// <c>trustlaunch tpm activate-credential</c>: recovers the secret of a MakeCredential blob (tpm2-tools credential file)
/// bound to the AK's name and sealed to the default EK.
/// </summary>
public static class TpmActivateCredentialCommand
{
    public static Command Create(GlobalOptions options)
    {
        var ak = CliParsers.HandleOption("--ak", "Handle of the key the credential is bound to, e.g. 0x81010002");
        var input = new Option<FileInfo>("--in") { Description = "Credential file (tpm2_makecredential -o format)", HelpName = "FILE", Required = true };
        var ekAlg = CliParsers.KeyTypeOption("--ek-alg", TpmAlgId.Rsa, "Type of the EK the credential was made for");
        var output = new Option<FileInfo?>("--out") { Description = "Write the secret here instead of printing it", HelpName = "FILE" };
        var command = new Command("activate-credential", "Recover a credential's secret with the EK and the AK it is bound to")
        {
            ak, input, ekAlg, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(input)!.FullName;
            MadeCredential credential;
            try
            {
                credential = MadeCredential.FromTpm2ToolsFile(await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false));
            }
            catch (TpmFormatException e)
            {
                throw new CliUsageException($"{path} is not a tpm2-tools credential file: {e.Message}");
            }
            using var device = options.OpenTpm(parse);
            var ek = await device.CreateEkAsync(parse.GetValue(ekAlg), ct).ConfigureAwait(false);
            byte[] secret;
            try
            {
                secret = await device.ActivateCredentialAsync(parse.GetValue(ak), ek.Handle, credential.CredentialBlob, credential.EncryptedSecret, ct)
                    .ConfigureAwait(false);
            }
            finally
            {
                await device.FlushContextAsync(ek.Handle, CancellationToken.None).ConfigureAwait(false);
            }

            var outFile = parse.GetValue(output);
            if (outFile is not null)
                await File.WriteAllBytesAsync(outFile.FullName, secret, ct).ConfigureAwait(false);
            var result = new ActivateCredentialResult(CliParsers.Hex(secret), outFile?.FullName);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.ActivateCredentialResult,
                (w, r) => w.WriteLine(r.OutFile is null ? r.Secret : $"wrote {r.OutFile}")).ConfigureAwait(false);
        });
        return command;
    }
}
