using System.CommandLine;
using TrustLaunch.Cli.Commands.Serve;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch serve ROLE</c>: runs one service until SIGINT/SIGTERM; one file per role under <c>Commands/Serve/</c>;
/// each also reads its settings file (<see cref="ServeConfigOption"/>).</summary>
public static class ServeCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new Command("serve", "Run a TrustLaunch service (registrar, verifier, agent, kbs)");
        serve.Subcommands.Add(ServeRegistrarCommand.Create(options));
        serve.Subcommands.Add(ServeVerifierCommand.Create(options));
        serve.Subcommands.Add(ServeAgentCommand.Create(options));
        serve.Subcommands.Add(ServeKbsCommand.Create(options));
        foreach (var role in serve.Subcommands)
            role.Options.Add(new ServeConfigOption(role.Name));
        return serve;
    }
}
