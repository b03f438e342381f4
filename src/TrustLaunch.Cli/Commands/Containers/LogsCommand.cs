using System.CommandLine;
using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch logs NAME [--follow]</c>: the container's stdout and stderr as it wrote them.</summary>
public static class LogsCommand
{
    public static Command Create(ContainerOptions containers)
    {
        var name = new Argument<string>("NAME") { Description = "Container name" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing output until the container exits" };
        var command = new Command("logs", "Print a container's output") { name, follow };
        command.SetAction(async (parse, ct) =>
        {
            var container = ContainerDirectory.Open(containers.DataDir(parse), parse.GetValue(name)!);
            await ContainerOutput.CopyAsync(container, parse.InvocationConfiguration.Output, parse.GetValue(follow), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>Streams a container's <c>stdio.log</c>, optionally until its monitor records the exit.</summary>
public static class ContainerOutput
{
    public static async Task CopyAsync(ContainerDirectory container, TextWriter output, bool follow, CancellationToken cancellationToken)
    {
        // The runtime creates the log when it creates the container: a follower may be here first.
        while (!File.Exists(container.StdioLog))
        {
            if (!follow || container.ReadExit() is not null)
                return;
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        await using var log = new FileStream(container.StdioLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(log);
        var buffer = new char[16 * 1024];
        while (true)
        {
            var exited = container.ReadExit() is not null;
            int read;
            while ((read = await reader.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            // The exit was recorded before this last read, so nothing more can come.
            if (!follow || exited)
                return;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }
}
