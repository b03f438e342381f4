using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Cri;

/// <summary>Whether a snapshot directory keeps what is unpacked there in memory only (tmpfs or ramfs), so decrypted layers never reach the disk.</summary>
public static class SnapshotStorage
{
    /// <summary>Why <paramref name="directory"/> may not hold decrypted layers; null when it is memory-backed.</summary>
    public static string? RefusalOf(string directory)
    {
        var type = Libc.FileSystemType(directory);
        if (type == -1)
            return $"cannot statfs containerd's snapshots at {directory}: errno {Marshal.GetLastPInvokeError()}";
        return type is Libc.TMPFS_MAGIC or Libc.RAMFS_MAGIC
            ? null
            : $"containerd's snapshots at {directory} are not memory-backed (filesystem type 0x{type:x}, not tmpfs): decrypted layers would reach the disk";
    }
}
