using TrustLaunch.Oci.Layers;

namespace TrustLaunch.Oci.Store;

/// <summary>
/// The data tree's directories: mode 0700 and owned by the user trustlaunch runs as, whatever the umask, so no other
/// local user can read a snapshot, run one of its setuid binaries or reach a container's files. An existing
/// directory with a looser mode is tightened; one owned by another user is refused (they could swap its contents), and
/// so is a shared one (world-writable or sticky, like /tmp), which must neither hold private data nor be tightened.
/// </summary>
public static class PrivateDirectory
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private const uint StickyBit = 0x200;
    private const uint OthersWrite = 0x2;

    /// <summary>Creates <paramref name="path"/> (and missing parents, which get the default mode) or checks it; returns its full path.</summary>
    public static string Ensure(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Posix.TryLstat(full, out var status))
        {
            if (Path.GetDirectoryName(full) is { } parent)
                Directory.CreateDirectory(parent);
            try
            {
                Posix.Mkdir(full, (uint)Mode);
            }
            catch (IOException) when (Directory.Exists(full))
            {
                // Made meanwhile by another process: checked below like any existing one.
            }
            Posix.TryLstat(full, out status);
        }
        if (status.IsSymlink && new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target && Posix.TryLstat(target.FullName, out var resolved))
            status = resolved;
        if (!status.IsDirectory)
            throw new IOException($"'{full}' is not a directory");
        if (status.Uid != Posix.EffectiveUid)
            throw new IOException($"'{full}' is owned by uid {status.Uid}, not by uid {Posix.EffectiveUid} that trustlaunch runs as: refusing to keep private data in it");
        if ((status.Mode & (StickyBit | OthersWrite)) != 0)
            throw new IOException($"'{full}' is a shared directory (mode {Convert.ToString(status.Mode & 0xFFF, 8)}): give trustlaunch a directory of its own");
        if ((status.Mode & 0xFFF) != (uint)Mode)
            Posix.Chmod(full, (uint)Mode);
        return full;
    }
}
