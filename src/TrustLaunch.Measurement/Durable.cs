using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Measurement;

/// <summary>fsync of a directory, which .NET has no API for: makes a new file's name durable, not just its bytes.</summary>
internal static class Durable
{
    public static void SyncDirectory(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0)
            throw new IOException($"open '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        try
        {
            if (Libc.Fsync(fd) != 0)
                throw new IOException($"fsync '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }
}
