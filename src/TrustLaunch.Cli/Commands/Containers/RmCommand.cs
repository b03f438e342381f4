using System.CommandLine;
using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch rm NAME [--force]</c>: deletes a stopped container and measures ContainerDeleted.</summary>
public static class RmCommand
{
    public static Command Create(GlobalOptions options, ContainerOptions containers)
    {
        var name = new Argument<string>("NAME") { Description = "Container name" };
        var force = new Option<bool>("--force", "-f") { Description = "Stop the container first (SIGKILL) if it is running" };
        var command = new Command("rm", "Remove a stopped container (measured as ContainerDeleted)") { name, force };
        command.SetAction(async (parse, ct) =>
        {
            ContainerDirectory.Open(containers.DataDir(parse), parse.GetValue(name)!); // "no container named …" before "no agent"
            if (containers.IsStandalone(parse))
            {
                using var measurer = containers.OpenMeasurer(parse);
                await containers.OpenControl(parse).RemoveAsync(parse.GetValue(name)!, parse.GetValue(force), measurer, ct).ConfigureAwait(false);
            }
            else
            {
                using var agent = AgentLauncher.Open(parse, containers);
                await agent.CallAsync(client => client.RemoveAsync(agent.DataDir, parse.GetValue(name)!, parse.GetValue(force), ct)).ConfigureAwait(false);
            }
            if (!parse.GetValue(options.Json))
                await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(name)).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
