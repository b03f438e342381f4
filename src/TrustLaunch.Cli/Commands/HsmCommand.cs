using System.CommandLine;
using TrustLaunch.Cli.Commands.Hsm;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch hsm …</c>: keys in a PKCS#11 HSM (SoftHSM2 by default) and pkcs11-spy analysis; one file
/// per subcommand under <c>Commands/Hsm/</c>, listed here.</summary>
public static class HsmCommand
{
    public static Command Create(GlobalOptions options)
    {
        var hsm = new Command("hsm", "Manage keys in a PKCS#11 HSM and analyse pkcs11-spy logs");
        var hsmOptions = new HsmOptions();
        hsmOptions.AddTo(hsm);
        Command[] subcommands =
        [
            HsmInfoCommand.Create(options, hsmOptions),
            HsmSlotsCommand.Create(options, hsmOptions),
            HsmMechanismsCommand.Create(options, hsmOptions),
            HsmInitCommands.CreateInitToken(options, hsmOptions),
            HsmInitCommands.CreateInitPin(options, hsmOptions),
            HsmKeysCommand.Create(options, hsmOptions),
            HsmKeygenCommand.Create(options, hsmOptions),
            HsmSignCommand.Create(options, hsmOptions),
            HsmVerifyCommand.Create(options, hsmOptions),
            HsmCryptCommands.CreateEncrypt(options, hsmOptions),
            HsmCryptCommands.CreateDecrypt(options, hsmOptions),
            HsmWrapCommands.CreateWrap(options, hsmOptions),
            HsmWrapCommands.CreateUnwrap(options, hsmOptions),
            HsmExportCommand.Create(options, hsmOptions),
            HsmDeleteCommand.Create(options, hsmOptions),
            HsmRandomCommand.Create(options, hsmOptions),
            HsmBenchmarkCommand.Create(options, hsmOptions),
            HsmAnalyzeCommand.Create(options),
        ];
        foreach (var command in subcommands)
            hsm.Subcommands.Add(command);
        return hsm;
    }
}
