using System.CommandLine;
using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch logs NAME [--follow]</c>: the container's stdout and stderr as it wrote them, from the agent (or, standalone, its files).</summary>
public static class LogsCommand
{
    public static Command Create(ContainerOptions containers)
    {
        var name = new Argument<string>("NAME") { Description = "Container name" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing output until the container exits" };
        var command = new Command("logs", "Print a container's output") { name, follow };
        command.SetAction(async (parse, ct) =>
        {
            var output = ContainerText.Sink(parse.InvocationConfiguration.Output);
            if (containers.IsStandalone(parse))
            {
                var container = ContainerDirectory.Open(containers.DataDir(parse), parse.GetValue(name)!);
                await ContainerOutput.CopyAsync(container, output, parse.GetValue(follow), ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            using var agent = AgentLauncher.Open(parse, containers);
            await agent.CallAsync(client => client.LogsAsync(agent.DataDir, parse.GetValue(name)!, parse.GetValue(follow), output, ct)).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>Container output for a text writer.</summary>
public static class ContainerText
{
    /// <summary>Writes the bytes it is given, decoded, to <paramref name="output"/> (a character split across chunks is kept whole).</summary>
    public static Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> Sink(TextWriter output)
    {
        var decoder = System.Text.Encoding.UTF8.GetDecoder();
        return async (bytes, ct) =>
        {
            var chars = new char[System.Text.Encoding.UTF8.GetMaxCharCount(bytes.Length)];
            var count = decoder.GetChars(bytes.Span, chars, flush: false);
            await output.WriteAsync(chars.AsMemory(0, count), ct).ConfigureAwait(false);
            await output.FlushAsync(ct).ConfigureAwait(false);
        };
    }
}
