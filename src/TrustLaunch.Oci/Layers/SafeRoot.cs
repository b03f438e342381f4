using Microsoft.Win32.SafeHandles;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Resolves tar entry names inside a root filesystem directory, component by component, through directory handles:
/// the root is opened once, and each component is opened relative to its parent with O_NOFOLLOW, so a symlink
/// swapped into the tree during the unpack can never redirect a write, a link, a chmod or a delete outside it.
/// </summary>
/// <remarks>
/// Symbolic links met on the way are read (never followed by the kernel) and followed the way the container will
/// see them: an absolute target starts again at the root filesystem (never at the host's <c>/</c>), a relative one
/// from the directory holding the link. A <c>..</c> that would climb above the root is refused. The final component
/// is never followed: an entry replaces whatever is there. Missing parent directories are created (mode 0755).
/// </remarks>
internal sealed class SafeRoot : IDisposable
{
    private const int MaxSymlinks = 40;
    private const uint DefaultDirectoryMode = 0x1ED; // 0755

    public SafeRoot(string hostRoot, string displayRoot)
    {
        HostRoot = hostRoot;
        DisplayRoot = displayRoot;
        var fd = Libc.Open(hostRoot, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC);
        if (fd < 0)
            throw new DirectoryNotFoundException($"the root filesystem '{displayRoot}' cannot be opened: {Libc.ErrorText(Libc.LastError)}");
        Handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    public string HostRoot { get; }
    public string DisplayRoot { get; }

    /// <summary>The root directory, opened once (O_PATH).</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>A place in the root: its parent directory held open, the last component not followed.</summary>
    public sealed class Destination(SafeFileHandle parent, bool ownsParent, string name, string relativePath) : IDisposable
    {
        public SafeFileHandle Parent { get; } = parent;
        public string Name { get; } = name;
        public string RelativePath { get; } = relativePath;

        public void Dispose()
        {
            if (ownsParent)
                Parent.Dispose();
        }
    }

    /// <summary>Splits a tar name into components; refuses absolute names and <c>..</c>. Empty = the root itself.</summary>
    public static string[] Split(string entryName, string what = "entry")
    {
        if (entryName.StartsWith('/'))
            throw new LayerUnpackException($"{what} '{entryName}' has an absolute path");
        var components = entryName.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();
        if (components.Contains(".."))
            throw new LayerUnpackException($"{what} '{entryName}' has a '..' component");
        if (entryName.Contains('\0', StringComparison.Ordinal))
            throw new LayerUnpackException($"{what} '{entryName}' contains a NUL character");
        return components;
    }

    public LayerUnpackException Outside(string entryName) =>
        new($"entry '{entryName}' would be written outside the root filesystem '{DisplayRoot}'");

    /// <summary>
    /// The destination of an entry: parents resolved (and created if <paramref name="create"/>), or null when a
    /// parent is missing and <paramref name="create"/> is false.
    /// </summary>
    public Destination? GetDestination(string entryName, ReadOnlySpan<string> components, bool create) =>
        GetDestination(entryName, components, create, () => Outside(entryName));

    /// <summary>Opens a directory (following symlinks inside the root); null when missing or not a directory.</summary>
    public Destination? GetDirectory(string entryName, ReadOnlySpan<string> components)
    {
        using var walk = new Walk(this);
        if (!walk.Descend(components.ToArray(), create: false, entryName, () => Outside(entryName)))
            return null;
        var (directory, owned) = walk.TakeTop();
        return new Destination(directory, owned, "", walk.Relative(null));
    }

    /// <summary>The existing, non-directory file a hard link points to, inside the root.</summary>
    public Destination GetHardLinkTarget(string entryName, string linkName)
    {
        LayerUnpackException Refused() =>
            new($"hard link '{entryName}' -> '{linkName}' points outside the root filesystem '{DisplayRoot}'");
        string[] components;
        try
        {
            components = Split(linkName, "hard link target");
        }
        catch (LayerUnpackException)
        {
            throw Refused();
        }
        if (components.Length == 0)
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}' points to the root directory");
        var target = GetDestination(entryName, components, create: false, Refused);
        if (target is null || !Posix.TryLstatAt(target.Parent, target.Name, out var status))
        {
            target?.Dispose();
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}': the target does not exist");
        }
        if (status.IsDirectory)
        {
            target.Dispose();
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}': the target is a directory");
        }
        return target;
    }

    public void Dispose() => Handle.Dispose();

    private Destination? GetDestination(string entryName, ReadOnlySpan<string> components, bool create, Func<LayerUnpackException> outside)
    {
        using var walk = new Walk(this);
        if (!walk.Descend(components[..^1].ToArray(), create, entryName, outside))
            return null;
        var (parent, owned) = walk.TakeTop();
        return new Destination(parent, owned, components[^1], walk.Relative(components[^1]));
    }

    /// <summary>The directories from the root down to where the walk is, each held open.</summary>
    private sealed class Walk(SafeRoot root) : IDisposable
    {
        private readonly List<(string Name, SafeFileHandle Handle)> _stack = [];
        private int _links;

        private SafeFileHandle Top => _stack.Count == 0 ? root.Handle : _stack[^1].Handle;

        public string Relative(string? name)
        {
            var parts = _stack.Select(s => s.Name);
            return string.Join('/', name is null ? parts : parts.Append(name));
        }

        /// <summary>The handle of the current directory, now owned by the caller (unless it is the root's).</summary>
        public (SafeFileHandle Handle, bool Owned) TakeTop()
        {
            if (_stack.Count == 0)
                return (root.Handle, false);
            var top = _stack[^1].Handle;
            _stack[^1] = (_stack[^1].Name, root.Handle); // the root's handle is never disposed by Dispose below
            return (top, true);
        }

        public bool Descend(string[] components, bool create, string entryName, Func<LayerUnpackException> outside)
        {
            foreach (var component in components)
            {
                if (component is "" or ".")
                    continue;
                if (component == "..")
                {
                    if (_stack.Count == 0)
                        throw outside();
                    Pop();
                    continue;
                }
                var directory = Posix.TryOpenAt(Top, component, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW, 0, out var errno);
                if (directory is null && errno == Libc.ENOENT)
                {
                    if (!create)
                        return false;
                    Posix.MkdirAt(Top, component, DefaultDirectoryMode);
                    directory = Posix.TryOpenAt(Top, component, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW, 0, out _)
                        ?? throw new LayerUnpackException($"entry '{entryName}': could not create the directory '{Relative(component)}'");
                    Posix.ChmodHandle(directory, DefaultDirectoryMode);
                }
                if (directory is not null)
                {
                    _stack.Add((component, directory));
                    continue;
                }
                if (errno is not (Libc.ELOOP or Libc.ENOTDIR))
                    throw new IOException($"openat '{Relative(component)}': {Libc.ErrorText(errno)}", errno);
                if (!Posix.TryLstatAt(Top, component, out var status))
                    return create ? throw new LayerUnpackException($"entry '{entryName}': '{Relative(component)}' vanished during the unpack") : false;
                if (!status.IsSymlink)
                    throw new LayerUnpackException($"entry '{entryName}': '{Relative(component)}' is not a directory");
                if (++_links > MaxSymlinks)
                    throw new LayerUnpackException($"entry '{entryName}': too many levels of symbolic links");
                var target = Posix.ReadLinkAt(Top, component);
                if (target.StartsWith('/'))
                {
                    while (_stack.Count > 0)
                        Pop();
                }
                if (!Descend(target.Split('/'), create, entryName, outside))
                    return false;
            }
            return true;
        }

        public void Dispose()
        {
            while (_stack.Count > 0)
                Pop();
        }

        private void Pop()
        {
            var handle = _stack[^1].Handle;
            _stack.RemoveAt(_stack.Count - 1);
            if (!ReferenceEquals(handle, root.Handle))
                handle.Dispose();
        }
    }
}
