using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Oci.Bundles;

/// <summary>
/// Resolves a path inside a root filesystem the way the container will see it: symlinks are followed component by
/// component, absolute targets restart at the rootfs, and <c>..</c> stops at the rootfs — so nothing resolves to a
/// host path outside it (like chroot, or runc's securejoin). Used to read /etc/passwd and /etc/group of an image.
/// </summary>
public static class RootfsPath
{
    private const int MaxSymlinks = 40;

    /// <summary>The host path of <paramref name="containerPath"/> inside <paramref name="rootfs"/>; the path need
    /// not exist, but every existing component is resolved.</summary>
    public static string Resolve(string rootfs, string containerPath)
    {
        var root = Path.GetFullPath(rootfs).TrimEnd('/');
        var pending = new Stack<string>(containerPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = root + "/" + string.Join('/', resolved.Append(part));
            var info = new FileInfo(candidate);
            if (info.LinkTarget is { } target)
            {
                if (++hops > MaxSymlinks)
                    throw new IOException($"'{containerPath}' in rootfs '{rootfs}': more than {MaxSymlinks} symlinks");
                if (target.StartsWith('/'))
                    resolved.Clear();
                foreach (var t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                    pending.Push(t);
                continue;
            }
            resolved.Add(part);
        }
        return resolved.Count == 0 ? root : root + "/" + string.Join('/', resolved);
    }

    /// <summary>
    /// Reads a small text file of the rootfs (null when missing). Opened with O_NOFOLLOW (the last component was
    /// resolved above; a symlink swapped in meanwhile is refused) and O_NONBLOCK, so a FIFO planted as /etc/passwd
    /// reads as empty instead of blocking, and at most <paramref name="maxBytes"/> are read (a device node cannot
    /// feed an endless file). .NET has no API for either flag, hence the P/Invoke.
    /// </summary>
    public static string? ReadSmallTextFile(string rootfs, string containerPath, int maxBytes = 4 << 20)
    {
        var path = Resolve(rootfs, containerPath);
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOFOLLOW | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            return errno == Libc.ENOENT ? null : throw new IOException($"'{containerPath}' in rootfs '{rootfs}' cannot be opened: errno {errno}");
        }
        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        var buffer = new byte[Math.Min(maxBytes + 1, 1 << 16)];
        using var text = new MemoryStream();
        int n;
        try
        {
            while ((n = stream.Read(buffer)) > 0)
            {
                text.Write(buffer, 0, n);
                if (text.Length > maxBytes)
                    throw new IOException($"'{containerPath}' in rootfs '{rootfs}' is larger than {maxBytes} bytes");
            }
        }
        catch (IOException e) when (e is not FileNotFoundException && !e.Message.StartsWith('\''))
        {
            throw new IOException($"'{containerPath}' in rootfs '{rootfs}' cannot be read as a file: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"'{containerPath}' in rootfs '{rootfs}' cannot be read as a file: {e.Message}", e);
        }
        return System.Text.Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }
}
