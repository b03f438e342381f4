using System.Runtime.InteropServices;

namespace TrustLaunch.Measurement.Native;

/// <summary>
/// Every libc call TrustLaunch makes, and the constants they take, in one place. It lives in Measurement because that
/// is the lowest project all its callers (Measurement, Oci, Hsm, Agent, Cli) reference. Source-generated marshalling
/// keeps the assemblies AOT-compatible.
/// </summary>
/// <remarks>
/// Most Linux constants are the same on every architecture (asm-generic), but some <c>open</c> flags are not:
/// <c>O_DIRECTORY</c> and <c>O_NOFOLLOW</c> are 0x4000 and 0x8000 on arm, arm64 and powerpc, where x64's values
/// mean <c>O_DIRECT</c> and <c>O_LARGEFILE</c>. Those are chosen for the running architecture; a test compares
/// every constant here with what the C headers of the machine say.
/// </remarks>
public static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_TRUNC = 0x200;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;

    /// <summary>Fails unless the path is a directory (architecture-dependent value).</summary>
    public static readonly int O_DIRECTORY = ArchitectureFlags.Directory;

    /// <summary>Fails with ELOOP when the last component is a symbolic link (architecture-dependent value).</summary>
    public static readonly int O_NOFOLLOW = ArchitectureFlags.NoFollow;

    /// <summary>waitpid: return at once when the child has not exited (same value on every Linux architecture).</summary>
    public const int WNOHANG = 1;
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int RENAME_EXCHANGE = 0x2;

    /// <summary>openat2(2) <c>resolve</c> flags.</summary>
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    public const ulong RESOLVE_IN_ROOT = 0x10;

    /// <summary>openat2's syscall number: one table for all architectures from Linux 5.6 on.</summary>
    public const long SYS_openat2 = 437;

    /// <summary>pidfd_open's syscall number (Linux 5.3, the same on every architecture).</summary>
    public const long SYS_pidfd_open = 434;

    public const short POLLIN = 0x1;

    public const int STATX_BASIC_STATS = 0x7ff;

    /// <summary>setns(2): the namespace file is a network namespace.</summary>
    public const int CLONE_NEWNET = 0x40000000;

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EWOULDBLOCK = EAGAIN;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ELOOP = 40;
    public const int ENODATA = 61;
    public const int ERANGE = 34;
    public const int EOPNOTSUPP = 95;

    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int MNT_DETACH = 2;
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_REMOUNT = 32;
    public const long TMPFS_MAGIC = 0x01021994;
    public const long RAMFS_MAGIC = 0x858458f6;
    public const int PR_SET_CHILD_SUBREAPER = 36;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>The part of <c>struct statx</c> read here (its layout is the same on every architecture).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSeconds;
        [FieldOffset(104)] public uint CtimeNanoseconds;
        [FieldOffset(112)] public long MtimeSeconds;
        [FieldOffset(120)] public uint MtimeNanoseconds;
        [FieldOffset(128)] public uint RdevMajor;
        [FieldOffset(132)] public uint RdevMinor;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary><c>struct open_how</c> of openat2(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary><c>struct pollfd</c> of poll(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>The message of an errno value.</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>True when <paramref name="path"/> (not followed) has any extended attribute; a filesystem without them has none.</summary>
    /// <exception cref="IOException">llistxattr failed otherwise.</exception>
    public static bool HasXattrs(string path)
    {
        var size = Llistxattr(path, null, 0);
        if (size >= 0)
            return size > 0;
        var errno = Marshal.GetLastPInvokeError();
        return errno == EOPNOTSUPP ? false : throw new IOException($"llistxattr '{path}': {ErrorText(errno)}");
    }

    private static class ArchitectureFlags
    {
        private static readonly bool ArmLike = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 or Architecture.Arm or Architecture.Armv6 or Architecture.Ppc64le => true,
            Architecture.X64 or Architecture.X86 or Architecture.S390x or Architecture.RiscV64 or Architecture.LoongArch64 => false,
            var other => throw new PlatformNotSupportedException($"the open(2) flags of {other} are not known"),
        };

        public static int Directory => ArmLike ? 0x4000 : 0x10000;
        public static int NoFollow => ArmLike ? 0x8000 : 0x20000;
    }
}
