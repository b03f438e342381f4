using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// The unpacker's and the rootfs digest's view of the few Linux calls .NET has no API for (the *at calls,
/// lsetxattr, statx), over <see cref="Libc"/>: errors become exceptions naming
/// the call and path. <c>statx</c> is used instead of <c>lstat</c> because its layout is the same on every architecture.
/// </summary>
internal static unsafe partial class Posix
{
    public const uint TypeMask = 0xF000;
    public const uint TypeSocket = 0xC000;
    public const uint TypeSymlink = 0xA000;
    public const uint TypeRegular = 0x8000;
    public const uint TypeBlock = 0x6000;
    public const uint TypeDirectory = 0x4000;
    public const uint TypeChar = 0x2000;
    public const uint TypeFifo = 0x1000;

    public const int ENOENT = Libc.ENOENT;
    public const int EEXIST = Libc.EEXIST;

    /// <summary>The subset of <c>struct statx</c> we read.</summary>
    public readonly record struct FileStatus(uint Mode, uint Uid, uint Gid, long Size, uint RdevMajor, uint RdevMinor)
    {
        public uint Type => Mode & TypeMask;
        public bool IsDirectory => Type == TypeDirectory;
        public bool IsSymlink => Type == TypeSymlink;
        public bool IsRegular => Type == TypeRegular;
    }

    public static bool IsRoot => Libc.Geteuid() == 0;

    public static uint EffectiveUid => Libc.Geteuid();

    /// <summary>lstat: false when the path does not exist (ENOENT or ENOTDIR), throws on other errors.</summary>
    public static bool TryLstat(string path, out FileStatus status)
    {
        Libc.Statx buffer;
        if (Libc.StatxAt(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            status = default;
            if (errno is ENOENT or Libc.ENOTDIR)
                return false;
            throw Error("statx", path, errno);
        }
        status = new FileStatus(buffer.Mode, buffer.Uid, buffer.Gid, (long)buffer.Size, buffer.RdevMajor, buffer.RdevMinor);
        return true;
    }

    public static void Chmod(string path, uint mode) => Check(Libc.Chmod(path, mode), "chmod", path);

    public static void Mkdir(string path, uint mode) => Check(Libc.Mkdir(path, mode), "mkdir", path);

    private static ulong DeviceNumber(int major, int minor)
    {
        var maj = (ulong)(uint)major;
        var min = (ulong)(uint)minor;
        return ((maj & 0xfffff000) << 32) | ((maj & 0xfff) << 8) | ((min & 0xffffff00) << 12) | (min & 0xff);
    }

    private static Libc.Timespec ToTimespec(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var spec = new Libc.Timespec { Seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest), Nanoseconds = rest * 100 };
        if (spec.Nanoseconds < 0)
        {
            spec.Seconds -= 1;
            spec.Nanoseconds += 1_000_000_000;
        }
        return spec;
    }

    /// <summary>lsetxattr; returns the errno instead of throwing (filesystems refuse namespaces for many reasons).</summary>
    public static int TrySetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
        {
            return Libc.Lsetxattr(path, name, p, (nuint)value.Length, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>lgetxattr (up to 64 KiB); null when absent or unreadable.</summary>
    public static byte[]? TryGetXattr(string path, string name)
    {
        var buffer = new byte[65536];
        fixed (byte* p = buffer)
        {
            var n = Libc.Lgetxattr(path, name, p, (nuint)buffer.Length);
            return n < 0 ? null : buffer[..(int)n];
        }
    }

    /// <summary>llistxattr: the names of a file's (or symlink's) extended attributes; none where the filesystem has no xattrs.</summary>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        while (true)
        {
            var size = Libc.Llistxattr(path, null, 0);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == Libc.EOPNOTSUPP ? [] : throw Error("llistxattr", path, errno);
            }
            if (size == 0)
                return [];
            var buffer = new byte[size];
            fixed (byte* p = buffer)
            {
                var n = Libc.Llistxattr(path, p, (nuint)buffer.Length);
                if (n < 0 && Marshal.GetLastPInvokeError() == Libc.ERANGE /* one was added meanwhile */)
                    continue;
                if (n < 0)
                    throw Error("llistxattr", path, Marshal.GetLastPInvokeError());
                return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
        }
    }

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    internal static void Check(int result, string call, string path)
    {
        if (result != 0)
            throw Error(call, path, Marshal.GetLastPInvokeError());
    }

    internal static IOException Error(string call, string path, int errno) =>
        new($"{call} '{path}': {Marshal.GetPInvokeErrorMessage(errno)}", errno);
}
