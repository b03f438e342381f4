using System.CommandLine;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Cli.Commands.Image;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch golden …</c>: one file per subcommand under <c>Commands/Golden/</c>, listed here.</summary>
public static class GoldenCommand
{
    public static Command Create(GlobalOptions options)
    {
        var registry = new RegistryOptions();
        var golden = new Command("golden", "Publish, countersign, show and verify signed golden values of images");
        registry.AddTo(golden);
        Command[] subcommands =
        [
            GoldenPublishCommand.Create(options, registry),
            GoldenCountersignCommand.Create(options, registry),
            GoldenShowCommand.Create(options, registry),
            GoldenVerifyCommand.Create(options, registry),
        ];
        foreach (var command in subcommands)
            golden.Subcommands.Add(command);
        return golden;
    }
}
