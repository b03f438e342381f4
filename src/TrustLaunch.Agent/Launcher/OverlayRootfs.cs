using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// A container's root filesystem: an overlay whose read-only lower layer is the image's verified snapshot and whose
/// upper layer is the container's own, so containers never write into the snapshot (whose tree digest is checked
/// at every launch) and a launch costs a mount, not a copy.
/// </summary>
public static class OverlayRootfs
{
    /// <summary>Mounts <paramref name="snapshot"/> + <c>DIR/upper</c> at <paramref name="target"/>.</summary>
    public static void Mount(string snapshot, string containerDirectory, string target)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("overlay root filesystems need Linux");
        var upper = Directory.CreateDirectory(Path.Combine(containerDirectory, "upper")).FullName;
        // The upper directory is the container's "/": its mode, not the umask's, must be the image's.
        File.SetUnixFileMode(upper, File.GetUnixFileMode(snapshot));
        var work = Directory.CreateDirectory(Path.Combine(containerDirectory, "work"), PrivateDirectory.Mode).FullName;
        Directory.CreateDirectory(target);
        foreach (var path in new[] { snapshot, upper, work })
        {
            // The option string separates with ',' and ':' and has no escaping we could rely on.
            if (path.AsSpan().IndexOfAny(",:\\") >= 0)
            {
                throw new IOException($"cannot mount an overlay from '{path}': the path contains ',', ':' or '\\'");
            }
        }
        var options = $"lowerdir={snapshot},upperdir={upper},workdir={work}";
        if (Libc.Mount("overlay", target, "overlay", 0, options) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot mount the container root filesystem at '{target}': overlay mount failed (errno {errno}{(errno == Libc.EINVAL ? ", is the data directory itself on an overlay?" : "")})");
        }
    }

    /// <summary>Detaches the overlay at <paramref name="target"/>; nothing to do when it is not mounted.</summary>
    public static void Unmount(string target)
    {
        if (IsMountPoint(target) && Libc.Umount2(target, Libc.MNT_DETACH) != 0)
        {
            throw new IOException($"cannot unmount '{target}': errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static bool IsMountPoint(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        return File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, var point, ..] && Unescape(point) == full);
    }

    /// <summary>/proc/self/mounts escapes space, tab, newline and backslash as octal.</summary>
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
