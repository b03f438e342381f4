using System.CommandLine;

namespace TrustLaunch.Cli.Commands.Ca;

internal static class CaDirectoryOption
{
    public const string DefaultDirectory = "/etc/trustlaunch/tls";

    public static Option<DirectoryInfo> Create() => new("--dir")
    {
        Description = $"Directory holding ca.key and ca.crt (default {DefaultDirectory})",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo(DefaultDirectory),
    };
}
