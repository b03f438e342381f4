using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TrustLaunch.Measurement.Native;

public static unsafe partial class Libc
{
    // Files and directories.
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, uint mode = 0);

    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(SafeFileHandle directory, string path, int flags, uint mode = 0);

    [LibraryImport(Library, EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport(Library, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(SafeFileHandle fd, int operation);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxAt(int directory, string path, int flags, uint mask, Statx* buffer);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxAt(SafeFileHandle directory, string path, int flags, uint mask, Statx* buffer);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxAt(int directory, string path, int flags, uint mask, out Statx buffer);

    [LibraryImport(Library, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkfifo(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, uint mode);

    [LibraryImport(Library, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UtimensAt(int directory, string path, Timespec* times, int flags);

    [LibraryImport(Library, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(SafeFileHandle directory, string name, uint mode);

    [LibraryImport(Library, EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SymlinkAt(string target, SafeFileHandle directory, string name);

    [LibraryImport(Library, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(SafeFileHandle oldDirectory, string oldName, SafeFileHandle newDirectory, string newName, int flags);

    [LibraryImport(Library, EntryPoint = "mknodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MknodAt(SafeFileHandle directory, string name, uint mode, ulong device);

    [LibraryImport(Library, EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Renameat2(int oldDirectory, string oldName, int newDirectory, string newName, uint flags);

    [LibraryImport(Library, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnlinkAt(SafeFileHandle directory, string name, int flags);

    [LibraryImport(Library, EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint ReadlinkAt(SafeFileHandle directory, string name, byte* buffer, nuint size);

    [LibraryImport(Library, EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FchownAt(SafeFileHandle directory, string name, uint uid, uint gid, int flags);

    [LibraryImport(Library, EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(SafeFileHandle fd, uint mode);

    [LibraryImport(Library, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UtimensAt(SafeFileHandle directory, string name, Timespec* times, int flags);

    [LibraryImport(Library, EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Fsetxattr(SafeFileHandle fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(Library, EntryPoint = "setxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Setxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Library, EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Library, EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint Lgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Library, EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint Llistxattr(string path, byte* list, nuint size);

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Openat2(long number, SafeFileHandle directory, byte* path, OpenHow* how, nuint size);

    // Mounts.
    [LibraryImport(Library, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fileSystemType, ulong flags, string data);

    [LibraryImport(Library, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Library, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statfs(string path, byte* buffer);

    /// <summary>statfs(2)'s <c>f_type</c> of the filesystem holding <paramref name="path"/> (a long at offset 0 on 64-bit Linux); -1 with errno set on failure.</summary>
    public static long FileSystemType(string path)
    {
        // struct statfs is 120 bytes on x86-64 and arm64; room to spare.
        var buffer = stackalloc byte[256];
        return Statfs(path, buffer) == 0 ? *(long*)buffer : -1;
    }

    // Processes and the environment.
    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint Geteuid();

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "waitpid", SetLastError = true)]
    public static partial int Waitpid(int pid, out int status, int options);

    /// <summary>A file descriptor of process <paramref name="pid"/> (any, not only a child), readable once it has exited.</summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    public static partial long PidfdOpen(long number, long pid, ulong flags);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(ref PollFd fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    /// <summary>Moves the calling thread into the namespace <paramref name="fd"/> refers to.</summary>
    [LibraryImport(Library, EntryPoint = "setns", SetLastError = true)]
    public static partial int Setns(int fd, int nstype);

    [LibraryImport(Library, EntryPoint = "setenv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Setenv(string name, string value, int overwrite);
}
