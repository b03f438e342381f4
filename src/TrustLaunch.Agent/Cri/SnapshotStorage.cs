using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Agent.Cri;

/// <summary>Whether a snapshot directory keeps what is unpacked there in memory only (tmpfs or ramfs), so decrypted layers never reach the disk.</summary>
public static class SnapshotStorage
{
    /// <summary>Why <paramref name="directory"/> may not hold decrypted layers; null when it is memory-backed.</summary>
    public static string? RefusalOf(string directory)
    {
        long type;
        try
        {
            type = MemoryBackedStorage.FileSystemType(directory);
        }
        catch (IOException e)
        {
            return $"containerd's snapshots: {e.Message}";
        }
        return MemoryBackedStorage.IsMemoryType(type)
            ? null
            : $"containerd's snapshots at {directory} are not memory-backed (filesystem type 0x{type:x}, not tmpfs): decrypted layers would reach the disk";
    }
}
