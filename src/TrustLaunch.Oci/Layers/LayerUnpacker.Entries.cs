using System.Formats.Tar;
using System.Text;

namespace TrustLaunch.Oci.Layers;

public sealed partial class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const string XattrPrefix = "SCHILY.xattr.";
    private const uint NewFileMode = 0x180; // 0600, until the entry's own mode is applied
    private const uint NewDirectoryMode = 0x1C0; // 0700
    private const uint PermissionBits = 0xFFF; // rwx for all + setuid, setgid, sticky

    private async Task ApplyEntryAsync(TarEntry entry, LayerState state, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
            return;
        state.Entries++;
        var name = entry.Name;
        var components = SafeRoot.Split(name);
        if (components.Length == 0)
        {
            if (entry.EntryType != TarEntryType.Directory)
                throw new LayerUnpackException($"entry '{name}' would replace the root directory with a {Describe(entry.EntryType)}");
            ApplyMetadata(state.Root.HostRoot, entry, state);
            return;
        }
        if (components[^1].StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            ApplyWhiteout(name, components, state);
            return;
        }
        var destination = state.Root.GetDestination(name, components, create: true)!.Value;
        var host = destination.HostPath;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!RemoveExisting(host, keepDirectory: true))
                    Posix.Mkdir(host, NewDirectoryMode);
                ApplyMetadata(host, entry, state);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RemoveExisting(host, keepDirectory: false);
                var options = new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, // O_EXCL: never follows a symlink planted at the last component
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    BufferSize = 0,
                    Options = FileOptions.Asynchronous,
                };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                await using (var file = new FileStream(host, options))
                {
                    if (entry.DataStream is { } data)
                        await data.CopyToAsync(file, 1 << 17, cancellationToken).ConfigureAwait(false);
                }
                ApplyMetadata(host, entry, state);
                break;
            case TarEntryType.SymbolicLink:
                if (string.IsNullOrEmpty(entry.LinkName))
                    throw new LayerUnpackException($"entry '{name}' is a symbolic link with an empty target");
                RemoveExisting(host, keepDirectory: false);
                Posix.Symlink(entry.LinkName, host);
                ApplyMetadata(host, entry, state);
                break;
            case TarEntryType.HardLink:
                var target = state.Root.GetHardLinkTarget(name, entry.LinkName);
                if (target == host)
                    break; // a link to itself: nothing to do
                RemoveExisting(host, keepDirectory: false);
                Posix.Link(target, host);
                break;
            case TarEntryType.Fifo:
                RemoveExisting(host, keepDirectory: false);
                Posix.Mknod(host, Posix.TypeFifo, NewFileMode, 0, 0);
                ApplyMetadata(host, entry, state);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (!state.IsRoot)
                {
                    if (_options.DevicesWhenNotRoot == DeviceNodePolicy.Refuse)
                        throw new LayerUnpackException($"entry '{name}' is a {Describe(entry.EntryType)}: device nodes need root");
                    state.SkippedDeviceNodes++;
                    return;
                }
                RemoveExisting(host, keepDirectory: false);
                var posix = (PosixTarEntry)entry;
                var type = entry.EntryType == TarEntryType.CharacterDevice ? Posix.TypeChar : Posix.TypeBlock;
                Posix.Mknod(host, type, NewFileMode, posix.DeviceMajor, posix.DeviceMinor);
                ApplyMetadata(host, entry, state);
                break;
            default:
                throw new LayerUnpackException($"entry '{name}' has the unsupported type {entry.EntryType}");
        }
        state.Touch(destination.RelativePath);
    }

    /// <summary>
    /// <c>.wh.NAME</c> deletes NAME of lower layers; <c>.wh..wh..opq</c> empties its directory of lower-layer
    /// children. A whiteout may not delete what its own layer created (the spec: whiteouts only apply to lower layers).
    /// </summary>
    private static void ApplyWhiteout(string name, string[] components, LayerState state)
    {
        var last = components[^1];
        if (last == OpaqueWhiteout)
        {
            if (state.Root.GetDirectory(name, components.AsSpan(..^1)) is not { } directory
                || !Posix.TryLstat(directory.HostPath, out var status) || !status.IsDirectory)
                return;
            RemoveLowerLayerEntries(directory.HostPath, directory.RelativePath, state);
            return;
        }
        var hidden = last[WhiteoutPrefix.Length..];
        if (hidden.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            return; // .wh..wh.* other than the opaque marker: reserved, no meaning
        if (hidden is "" or "." or "..")
            throw new LayerUnpackException($"entry '{name}' is not a valid whiteout");
        components[^1] = hidden;
        if (state.Root.GetDestination(name, components, create: false) is not { } destination)
            return;
        if (state.Touched.Contains(destination.RelativePath))
            throw new LayerUnpackException($"entry '{name}' deletes '{destination.RelativePath}', which the same layer creates (contradictory entries)");
        RemoveTree(destination.HostPath);
    }

    /// <summary>
    /// Empties a directory of what lower layers put there: entries this layer did not create go, and directories
    /// this layer did create (or entered) are searched the same way, since lower content may sit inside them.
    /// </summary>
    private static void RemoveLowerLayerEntries(string host, string relative, LayerState state)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(host, "*", AllEntries))
        {
            var childName = Path.GetFileName(child);
            var childRelative = relative.Length == 0 ? childName : relative + "/" + childName;
            if (!state.Touched.Contains(childRelative))
                RemoveTree(child);
            else if (Posix.TryLstat(child, out var status) && status.IsDirectory)
                RemoveLowerLayerEntries(child, childRelative, state);
        }
    }

    /// <summary>Removes what is at <paramref name="host"/> (never following a symlink); true if a directory was kept.</summary>
    private static bool RemoveExisting(string host, bool keepDirectory)
    {
        if (!Posix.TryLstat(host, out var status))
            return false;
        if (status.IsDirectory && keepDirectory)
            return true;
        RemoveTree(host);
        return false;
    }

    /// <summary>Owner (as root), xattrs, mode, then mtime (directories at the end of the layer).</summary>
    private static void ApplyMetadata(string host, TarEntry entry, LayerState state)
    {
        var symlink = entry.EntryType == TarEntryType.SymbolicLink;
        if (state.IsRoot)
            Posix.Lchown(host, entry.Uid, entry.Gid); // before chmod: chown clears setuid/setgid
        if (state.RawXattrs is { } raw)
        {
            foreach (var (name, value) in raw)
            {
                if (!ImageXattrs.IsApplied(name))
                    state.XattrsSkipped++;
                else if (Posix.TrySetXattr(host, name, value) != 0)
                    state.XattrsNotApplied++;
            }
        }
        else if (entry is PaxTarEntry pax)
        {
            // The tap lost the raw bytes: TarReader's UTF-8 decoding turned invalid bytes of a binary value into
            // U+FFFD, and writing that would be a different value, so skip and count it.
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                if (!key.StartsWith(XattrPrefix, StringComparison.Ordinal))
                    continue;
                if (!ImageXattrs.IsApplied(key[XattrPrefix.Length..]))
                    state.XattrsSkipped++;
                else if (value.Contains('\uFFFD', StringComparison.Ordinal)
                         || Posix.TrySetXattr(host, key[XattrPrefix.Length..], Encoding.UTF8.GetBytes(value)) != 0)
                    state.XattrsNotApplied++;
            }
        }
        if (!symlink)
            Posix.Chmod(host, (uint)entry.Mode & PermissionBits);
        if (entry.EntryType == TarEntryType.Directory)
            state.DirectoryTimes.Add((host, entry.ModificationTime));
        else
            Posix.SetModificationTime(host, entry.ModificationTime);
    }

    private static string Describe(TarEntryType type) => type switch
    {
        TarEntryType.CharacterDevice => "character device",
        TarEntryType.BlockDevice => "block device",
        TarEntryType.SymbolicLink => "symbolic link",
        TarEntryType.HardLink => "hard link",
        TarEntryType.Fifo => "FIFO",
        TarEntryType.Directory => "directory",
        _ => "file",
    };

    private sealed class LayerState(SafeRoot root, bool isRoot)
    {
        public SafeRoot Root { get; } = root;
        public bool IsRoot { get; } = isRoot;
        public long Entries { get; set; }
        public int SkippedDeviceNodes { get; set; }
        public int XattrsNotApplied { get; set; }
        public int XattrsSkipped { get; set; }

        /// <summary>The current entry's xattrs as raw bytes (<see cref="PaxXattrTap"/>); null when unavailable.</summary>
        public IReadOnlyDictionary<string, byte[]>? RawXattrs { get; set; }

        /// <summary>Paths (relative, resolved) this layer created, with all their ancestors.</summary>
        public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);

        public List<(string Host, DateTimeOffset Time)> DirectoryTimes { get; } = [];

        public void Touch(string relative)
        {
            while (Touched.Add(relative))
            {
                var slash = relative.LastIndexOf('/');
                if (slash < 0)
                    break;
                relative = relative[..slash];
            }
        }

        /// <summary>Directory mtimes last, deepest first, so creating children does not undo them.</summary>
        public void ApplyDirectoryTimes()
        {
            foreach (var (host, time) in DirectoryTimes.OrderByDescending(d => d.Host.Length))
            {
                if (Posix.TryLstat(host, out var status) && status.IsDirectory)
                    Posix.SetModificationTime(host, time);
            }
        }

        public LayerUnpackResult ToResult() => new()
        {
            Entries = Entries,
            SkippedDeviceNodes = SkippedDeviceNodes,
            XattrsNotApplied = XattrsNotApplied,
            XattrsSkipped = XattrsSkipped,
        };
    }
}
