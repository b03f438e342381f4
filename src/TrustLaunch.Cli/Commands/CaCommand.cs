using System.CommandLine;
using TrustLaunch.Cli.Commands.Ca;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch ca …</c>: the deployment's own CA for mutual TLS between services.</summary>
public static class CaCommand
{
    public static Command Create(GlobalOptions options)
    {
        var ca = new Command("ca", "Create the deployment CA and issue service certificates for mutual TLS");
        ca.Subcommands.Add(CaInitCommand.Create(options));
        ca.Subcommands.Add(CaIssueCommand.Create(options));
        return ca;
    }
}
