using System.CommandLine;
using TrustLaunch.Cli.Commands.Ca;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch ca …</c>: the deployment's own CA for mutual TLS between services.</summary>
public static class CaCommand
{
    public static Command Create(GlobalOptions options)
    {
        var ca = new Command("ca", "The deployment CA for mutual TLS: create it, issue, renew and revoke certificates");
        ca.Subcommands.Add(CaInitCommand.Create(options));
        ca.Subcommands.Add(CaIssueCommand.Create(options));
        ca.Subcommands.Add(CaRenewCommand.Create(options));
        ca.Subcommands.Add(CaRevokeCommand.Create(options));
        return ca;
    }
}
