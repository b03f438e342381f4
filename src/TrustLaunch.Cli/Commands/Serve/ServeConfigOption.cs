using System.CommandLine;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>--config FILE</c> of every <c>serve ROLE</c>: the role's settings file (which must exist); without it
/// <c>/etc/trustlaunch/ROLE.yaml</c> is read when it exists. <see cref="Config.ServeConfiguration"/> turns the file
/// and <c>TRUSTLAUNCH_ROLE_KEY</c> variables into options before the command line is parsed for good.
/// </summary>
public sealed class ServeConfigOption : Option<FileInfo?>
{
    public const string DefaultDirectory = "/etc/trustlaunch";

    public ServeConfigOption(string role) : base("--config")
    {
        Role = role;
        Description = $"Settings file, every option as a key (default {DefaultDirectory}/{role}.yaml when it exists); "
            + $"command line > TRUSTLAUNCH_{role.ToUpperInvariant()}_KEY > file > default";
        HelpName = "FILE";
    }

    public string Role { get; }
}
