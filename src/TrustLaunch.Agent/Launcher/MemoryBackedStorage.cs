using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Directories whose files must never reach a disk (the decrypted snapshots of encrypted images and the overlay upper
/// layers over them): memory-backed as <c>statfs(2)</c> says (tmpfs or ramfs), so gone at reboot. When the
/// directory is not, a tmpfs (mode 0700, nosuid, nodev) is mounted on it and checked again; anything else is refused.
/// </summary>
public static class MemoryBackedStorage
{
    /// <summary>The filesystem type (<c>f_type</c>) <paramref name="path"/> is on.</summary>
    public static long FileSystemType(string path)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("memory-backed storage is checked with Linux statfs");
        var type = Libc.FileSystemType(path);
        return type != -1 ? type : throw new IOException($"cannot statfs '{path}': errno {Marshal.GetLastPInvokeError()}");
    }

    public static bool IsMemoryBacked(string path) => IsMemoryType(FileSystemType(path));

    public static bool IsMemoryType(long fileSystemType) => fileSystemType is Libc.TMPFS_MAGIC or Libc.RAMFS_MAGIC;

    /// <summary>Makes <paramref name="directory"/> (0700) memory-backed, mounting a tmpfs on it when it is not.</summary>
    /// <exception cref="IOException">It is not memory-backed and no tmpfs could be mounted there.</exception>
    public static void Ensure(string directory)
    {
        PrivateDirectory.Ensure(directory);
        if (IsMemoryBacked(directory))
            return;
        if (Libc.Mount("tmpfs", directory, "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=0700") != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"'{directory}' is on filesystem type 0x{FileSystemType(directory):x}, not tmpfs or ramfs, and mounting a tmpfs there failed " +
                $"(errno {errno}): the decrypted layers of encrypted images are kept only in memory");
        }
        Require(directory);
    }

    /// <exception cref="IOException"><paramref name="path"/> is not on tmpfs or ramfs.</exception>
    public static void Require(string path)
    {
        var type = FileSystemType(path);
        if (!IsMemoryType(type))
            throw new IOException($"'{path}' is on filesystem type 0x{type:x}, not tmpfs or ramfs: the decrypted layers of encrypted images are kept only in memory");
    }
}
