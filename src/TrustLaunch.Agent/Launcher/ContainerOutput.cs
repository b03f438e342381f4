namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Streams a container's output: <c>stdio.log.1</c> (the rotated part, if any) then <c>stdio.log</c>, optionally
/// following it until its monitor records the exit — across rotations, which it tells by the file its handle
/// names in /proc/self/fd no longer being <c>stdio.log</c>. Bytes as the container wrote them.
/// </summary>
public static class ContainerOutput
{
    /// <param name="ended">When the follower is the container's monitor's process: its run, which ends once the exit is recorded.</param>
    public static async Task CopyAsync(ContainerDirectory container, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, bool follow,
        CancellationToken cancellationToken, Task? ended = null)
    {
        // The monitor creates the log before the container: a follower may be here first.
        while (!File.Exists(container.StdioLog))
        {
            if (!follow || container.ReadExit() is not null)
                return;
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        var rotated = StdioLog.RotatedPath(container);
        if (File.Exists(rotated))
        {
            await using var old = Open(rotated);
            await CopyToEndAsync(old, write, cancellationToken).ConfigureAwait(false);
        }
        var log = Open(container.StdioLog);
        try
        {
            while (true)
            {
                var exited = ended is { IsCompleted: true } || container.ReadExit() is not null;
                await CopyToEndAsync(log, write, cancellationToken).ConfigureAwait(false);
                if (follow && OpenedFile(log) is { } opened && opened != container.StdioLog)
                {
                    if (opened != rotated)
                        return; // removed, not rotated: the container is gone
                    // Written to the end before it was renamed: what follows is in the new file, made right after.
                    await CopyToEndAsync(log, write, cancellationToken).ConfigureAwait(false);
                    while (!File.Exists(container.StdioLog))
                        await Task.Delay(5, cancellationToken).ConfigureAwait(false);
                    await log.DisposeAsync().ConfigureAwait(false);
                    log = Open(container.StdioLog);
                    continue;
                }
                // The exit was recorded before this last read, so nothing more can come.
                if (!follow || exited)
                    return;
                var poll = Task.Delay(50, cancellationToken);
                await (ended is null ? poll : Task.WhenAny(poll, ended)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            await log.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileStream Open(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    private static async Task CopyToEndAsync(FileStream log, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await log.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            await write(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The path the open file has now (it follows renames).</summary>
    private static string? OpenedFile(FileStream log) =>
        File.ResolveLinkTarget($"/proc/self/fd/{log.SafeFileHandle.DangerousGetHandle()}", returnFinalTarget: false)?.FullName;
}
