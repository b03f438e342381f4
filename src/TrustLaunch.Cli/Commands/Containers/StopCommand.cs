using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch stop NAME [--timeout S]</c>: SIGTERM, SIGKILL after the timeout; whoever supervises it (the agent, or standalone its monitor) measures ContainerStopped.</summary>
public static class StopCommand
{
    public static Command Create(GlobalOptions options, ContainerOptions containers)
    {
        var name = new Argument<string>("NAME") { Description = "Container name" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait after SIGTERM before SIGKILL", DefaultValueFactory = _ => 10 };
        var command = new Command("stop", "Stop a container (SIGTERM, then SIGKILL after --timeout)") { name, timeout };
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(timeout);
            if (seconds < 0)
                throw new CliUsageException("--timeout must be 0 or more seconds");
            ContainerView view;
            if (containers.IsStandalone(parse))
            {
                await containers.OpenControl(parse).StopAsync(parse.GetValue(name)!, TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false);
                view = ContainerView.From(await containers.OpenControl(parse).GetAsync(parse.GetValue(name)!, ct).ConfigureAwait(false));
            }
            else
            {
                using var agent = AgentLauncher.Open(parse, containers);
                view = ContainerView.From(await agent.CallAsync(client => client.StopAsync(agent.DataDir, parse.GetValue(name)!, seconds, ct)).ConfigureAwait(false));
            }
            return await CliOutput.For(parse, options).WriteAsync(view, CliJsonContext.Output.ContainerView,
                (w, v) => w.WriteLine(v.ExitCode is { } code ? $"{v.Name} exited with {code}" : $"{v.Name} exited: {v.ExitReason}")).ConfigureAwait(false);
        });
        return command;
    }
}
