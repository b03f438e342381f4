using System.CommandLine;
using TrustLaunch.Cli.Commands.Tpm;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch tpm …</c>: one file per subcommand under <c>Commands/Tpm/</c>, listed here.</summary>
public static class TpmCommand
{
    public static Command Create(GlobalOptions options)
    {
        var tpm = new Command("tpm", "Inspect the TPM, create keys, quote PCRs, activate credentials");
        Command[] subcommands =
        [
            TpmInfoCommand.Create(options),
            TpmPcrsCommand.Create(options),
            TpmEkCommand.Create(options),
            TpmAkCommand.Create(options),
            TpmQuoteCommand.Create(options),
            TpmVerifyQuoteCommand.Create(options),
            TpmMakeCredentialCommand.Create(options),
            TpmActivateCredentialCommand.Create(options),
        ];
        foreach (var command in subcommands)
            tpm.Subcommands.Add(command);
        return tpm;
    }
}
