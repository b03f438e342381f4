using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// The same calls relative to a directory handle (the <c>*at</c> variants, never following a final symlink), so
/// that a symlink swapped into a path while it is being unpacked cannot redirect them. Calls that have no such
/// variant (chmod, setxattr, utimes of an O_PATH handle) go through the handle's <c>/proc/self/fd</c> entry.
/// </summary>
internal static unsafe partial class Posix
{
    private static readonly int PathFlags = Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;

    /// <summary>statx of <paramref name="name"/> in <paramref name="directory"/>, not following it; false when missing.</summary>
    public static bool TryLstatAt(SafeFileHandle directory, string name, out FileStatus status)
    {
        Libc.Statx buffer;
        var flags = Libc.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Libc.AT_EMPTY_PATH : 0);
        if (Libc.StatxAt(directory, name, flags, Libc.STATX_BASIC_STATS, &buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            status = default;
            if (errno is ENOENT or Libc.ENOTDIR)
                return false;
            throw Error("statx", name, errno);
        }
        status = new FileStatus(buffer.Mode, buffer.Uid, buffer.Gid, (long)buffer.Size, buffer.RdevMajor, buffer.RdevMinor);
        return true;
    }

    /// <summary>openat(2); the errno instead of a handle when it fails.</summary>
    public static SafeFileHandle? TryOpenAt(SafeFileHandle directory, string name, int flags, uint mode, out int errno)
    {
        var fd = Libc.OpenAt(directory, name, flags | Libc.O_CLOEXEC, mode);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    public static SafeFileHandle OpenAt(SafeFileHandle directory, string name, int flags, uint mode = 0) =>
        TryOpenAt(directory, name, flags, mode, out var errno) ?? throw Error("openat", name, errno);

    /// <summary>An O_PATH handle on <paramref name="name"/> itself (a symlink is not followed).</summary>
    public static SafeFileHandle OpenPathAt(SafeFileHandle directory, string name) => OpenAt(directory, name, PathFlags);

    public static void MkdirAt(SafeFileHandle directory, string name, uint mode) => Check(Libc.MkdirAt(directory, name, mode), "mkdirat", name);

    public static void SymlinkAt(string target, SafeFileHandle directory, string name) => Check(Libc.SymlinkAt(target, directory, name), "symlinkat", name);

    public static void LinkAt(SafeFileHandle fromDirectory, string fromName, SafeFileHandle directory, string name) =>
        Check(Libc.LinkAt(fromDirectory, fromName, directory, name, 0), "linkat", name);

    public static void UnlinkAt(SafeFileHandle directory, string name, bool isDirectory) =>
        Check(Libc.UnlinkAt(directory, name, isDirectory ? Libc.AT_REMOVEDIR : 0), "unlinkat", name);

    public static void MknodAt(SafeFileHandle directory, string name, uint type, uint permissions, int major, int minor) =>
        Check(Libc.MknodAt(directory, name, type | permissions, DeviceNumber(major, minor)), "mknodat", name);

    /// <summary>readlinkat(2): the target of the symlink <paramref name="name"/>.</summary>
    public static string ReadLinkAt(SafeFileHandle directory, string name)
    {
        var buffer = new byte[4097];
        fixed (byte* p = buffer)
        {
            var n = Libc.ReadlinkAt(directory, name, p, (nuint)buffer.Length);
            if (n < 0)
                throw Error("readlinkat", name, Marshal.GetLastPInvokeError());
            if (n == buffer.Length)
                throw new IOException($"readlinkat '{name}': the target is longer than 4096 bytes");
            return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    /// <summary>The path through which the kernel reaches the very file a handle refers to.</summary>
    public static string ProcPath(SafeFileHandle handle) => $"/proc/self/fd/{handle.DangerousGetHandle()}";

    public static void ChownHandle(SafeFileHandle handle, int uid, int gid) =>
        Check(Libc.FchownAt(handle, "", (uint)uid, (uint)gid, Libc.AT_EMPTY_PATH | Libc.AT_SYMLINK_NOFOLLOW), "fchownat", ProcPath(handle));

    public static void ChmodHandle(SafeFileHandle handle, uint mode) => Chmod(ProcPath(handle), mode);

    /// <summary>setxattr through the handle; the errno instead of throwing (filesystems refuse namespaces for many reasons).</summary>
    public static int TrySetXattrHandle(SafeFileHandle handle, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
        {
            return Libc.Setxattr(ProcPath(handle), name, p, (nuint)value.Length, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static void SetModificationTimeHandle(SafeFileHandle handle, DateTimeOffset time)
    {
        var times = stackalloc Libc.Timespec[2];
        times[0] = times[1] = ToTimespec(time);
        var path = ProcPath(handle);
        Check(Libc.UtimensAt(Libc.AT_FDCWD, path, times, 0), "utimensat", path);
    }
}
