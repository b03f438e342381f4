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

/// <summary>
/// Streams a container's output: <c>stdio.log.1</c> (the rotated part, if any) then <c>stdio.log</c>, optionally
/// following it until its monitor records the exit — across rotations, which it tells by the file its handle
/// names in /proc/self/fd no longer being <c>stdio.log</c>.
/// </summary>
public static class ContainerOutput
{
    public static async Task CopyAsync(ContainerDirectory container, TextWriter output, bool follow, CancellationToken cancellationToken)
    {
        // The monitor creates the log before the container: a follower may be here first.
        while (!File.Exists(container.StdioLog))
        {
            if (!follow || container.ReadExit() is not null)
                return;
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        var decoder = System.Text.Encoding.UTF8.GetDecoder();
        var rotated = StdioLog.RotatedPath(container);
        if (File.Exists(rotated))
        {
            await using var old = Open(rotated);
            await CopyToEndAsync(old, decoder, output, cancellationToken).ConfigureAwait(false);
        }
        var log = Open(container.StdioLog);
        try
        {
            while (true)
            {
                var exited = container.ReadExit() is not null;
                await CopyToEndAsync(log, decoder, output, cancellationToken).ConfigureAwait(false);
                if (follow && OpenedFile(log) is { } opened && opened != container.StdioLog)
                {
                    if (opened != rotated)
                        return; // removed, not rotated: the container is gone
                    // Written to the end before it was renamed: what follows is in the new file, made right after.
                    await CopyToEndAsync(log, decoder, output, cancellationToken).ConfigureAwait(false);
                    while (!File.Exists(container.StdioLog))
                        await Task.Delay(5, cancellationToken).ConfigureAwait(false);
                    await log.DisposeAsync().ConfigureAwait(false);
                    log = Open(container.StdioLog);
                    continue;
                }
                // The exit was recorded before this last read, so nothing more can come.
                if (!follow || exited)
                    return;
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await log.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileStream Open(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>The decoder carries a character split across reads (or files) over to the next.</summary>
    private static async Task CopyToEndAsync(FileStream log, System.Text.Decoder decoder, TextWriter output, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var chars = new char[System.Text.Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        int read;
        while ((read = await log.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var count = decoder.GetChars(buffer, 0, read, chars, 0, flush: false);
            await output.WriteAsync(chars.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The path the open file has now (it follows renames).</summary>
    private static string? OpenedFile(FileStream log) =>
        File.ResolveLinkTarget($"/proc/self/fd/{log.SafeFileHandle.DangerousGetHandle()}", returnFinalTarget: false)?.FullName;
}
