namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// A container's stdout and stderr, capped: the runtime writes them into <c>stdio.pipe</c> (a FIFO) and this copies
/// them into <c>stdio.log</c>, which is rotated to <c>stdio.log.1</c> (replacing the previous one) each time it
/// would pass <see cref="MaxBytes"/>, so a container's output takes at most twice that on disk. The copy ends when
/// every writer has closed the pipe, that is when the container's processes are gone.
/// </summary>
public sealed class StdioLog : IDisposable
{
    /// <summary>kubelet's default container log size (containerLogMaxSize).</summary>
    public const long DefaultMaxBytes = 10 * 1024 * 1024;

    private readonly ContainerDirectory _container;
    private readonly Task _copy;
    private volatile bool _connected;
    private bool _disposed;

    private StdioLog(ContainerDirectory container, long maxBytes)
    {
        _container = container;
        MaxBytes = maxBytes;
        container.CreateStdioPipe();
        // Followers (logs -f, run --attach) wait for the log to exist.
        File.OpenHandle(container.StdioLog, FileMode.Append, FileAccess.Write).Dispose();
        _copy = Task.Factory.StartNew(Copy, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public long MaxBytes { get; }

    /// <summary>Ends when the last writer closed the pipe and everything was written to the log.</summary>
    public Task Completion => _copy;

    public static StdioLog Start(ContainerDirectory container, long maxBytes = DefaultMaxBytes) =>
        maxBytes > 0 ? new StdioLog(container, maxBytes) : throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "the log cap must be positive");

    public static string RotatedPath(ContainerDirectory container) => container.StdioLog + ".1";

    /// <summary>
    /// Ends the copy: if no writer ever opened the pipe (the runtime never ran), opening it for writing ourselves
    /// releases the copy's blocking open.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_connected)
            File.OpenHandle(_container.StdioPipe, FileMode.Open, FileAccess.Write).Dispose();
        _copy.Wait(TimeSpan.FromSeconds(5));
    }

    private void Copy()
    {
        try
        {
            CopyToLog();
        }
        catch (IOException e)
        {
            // The container's further writes fail (EPIPE): better than output kept nowhere or past the cap.
            _container.AppendMonitorLog($"copying the container's output into {_container.StdioLog} failed: {e.Message}");
        }
    }

    private void CopyToLog()
    {
        // Blocks until the runtime opens the pipe for writing.
        using var pipe = new FileStream(File.OpenHandle(_container.StdioPipe, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), FileAccess.Read, bufferSize: 0);
        _connected = true;
        var log = OpenLog();
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = pipe.Read(buffer)) > 0)
            {
                for (var offset = 0; offset < read;)
                {
                    if (log.Length >= MaxBytes)
                    {
                        log.Dispose();
                        File.Move(_container.StdioLog, RotatedPath(_container), overwrite: true);
                        log = OpenLog();
                    }
                    var count = (int)Math.Min(read - offset, MaxBytes - log.Length);
                    log.Write(buffer, offset, count);
                    offset += count;
                }
                log.Flush();
            }
        }
        finally
        {
            log.Dispose();
        }
    }

    private FileStream OpenLog() => new(_container.StdioLog, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
}
