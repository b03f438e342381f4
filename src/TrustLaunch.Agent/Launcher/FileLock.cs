using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// An exclusive flock(2) on a file, held until disposed. The lock belongs to the open file, so two holders in one
/// process exclude each other as two processes do, and the kernel drops it when its holder dies (no stale pid files).
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly SafeFileHandle _file;

    private FileLock(SafeFileHandle file) => _file = file;

    /// <summary>Takes the lock on <paramref name="path"/> (created if missing), waiting as long as another holder keeps it.</summary>
    public static async Task<FileLock> AcquireAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = Open(path);
        try
        {
            if (!TryLock(file, path, Libc.LOCK_EX | Libc.LOCK_NB))
            {
                // A blocking flock cannot be cancelled: it waits on a thread of its own so the pool is not starved.
                cancellationToken.ThrowIfCancellationRequested();
                await Task.Factory.StartNew(() => TryLock(file, path, Libc.LOCK_EX), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            }
            return new FileLock(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The lock, or null when someone holds it now.</summary>
    public static FileLock? TryAcquire(string path)
    {
        var file = Open(path);
        if (TryLock(file, path, Libc.LOCK_EX | Libc.LOCK_NB))
            return new FileLock(file);
        file.Dispose();
        return null;
    }

    public void Dispose() => _file.Dispose();

    // open(2) itself: a FileStream would take a shared flock of .NET's own, which fails while another holds ours.
    private static SafeFileHandle Open(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0b110_000_000);
        return fd >= 0
            ? new SafeFileHandle((IntPtr)fd, ownsHandle: true)
            : throw new IOException($"cannot open lock file '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    private static bool TryLock(SafeFileHandle file, string path, int operation)
    {
        while (Libc.Flock(file, operation) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EWOULDBLOCK)
                return false;
            if (errno != Libc.EINTR)
                throw new IOException($"cannot lock '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return true;
    }
}
