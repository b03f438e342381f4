using System.Formats.Tar;
using System.Text;
using Microsoft.Win32.SafeHandles;
using TrustLaunch.Measurement.Native;

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
            ApplyMetadata(state.Root.Handle, entry, state, "");
            return;
        }
        if (components[^1].StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            ApplyWhiteout(name, components, state);
            return;
        }
        using var destination = state.Root.GetDestination(name, components, create: true)!;
        var (parent, leaf, relative) = (destination.Parent, destination.Name, destination.RelativePath);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!RemoveExisting(parent, leaf, keepDirectory: true))
                    Posix.MkdirAt(parent, leaf, NewDirectoryMode);
                ApplyMetadataOfCreated(destination, Posix.TypeDirectory, entry, state);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RemoveExisting(parent, leaf, keepDirectory: false);
                // O_EXCL|O_NOFOLLOW: never follows a symlink planted at the last component
                var handle = Posix.OpenAt(parent, leaf, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW, NewFileMode);
                await using (var file = new FileStream(handle, FileAccess.Write, bufferSize: 0))
                {
                    if (entry.DataStream is { } data)
                        await data.CopyToAsync(file, 1 << 17, cancellationToken).ConfigureAwait(false);
                    ApplyMetadata(handle, entry, state, relative);
                }
                break;
            case TarEntryType.SymbolicLink:
                if (string.IsNullOrEmpty(entry.LinkName))
                    throw new LayerUnpackException($"entry '{name}' is a symbolic link with an empty target");
                RemoveExisting(parent, leaf, keepDirectory: false);
                Posix.SymlinkAt(entry.LinkName, parent, leaf);
                ApplyMetadataOfCreated(destination, Posix.TypeSymlink, entry, state);
                break;
            case TarEntryType.HardLink:
                using (var target = state.Root.GetHardLinkTarget(name, entry.LinkName))
                {
                    if (target.RelativePath == relative)
                        break; // a link to itself: nothing to do
                    RemoveExisting(parent, leaf, keepDirectory: false);
                    Posix.LinkAt(target.Parent, target.Name, parent, leaf);
                }
                break;
            case TarEntryType.Fifo:
                RemoveExisting(parent, leaf, keepDirectory: false);
                Posix.MknodAt(parent, leaf, Posix.TypeFifo, NewFileMode, 0, 0);
                ApplyMetadataOfCreated(destination, Posix.TypeFifo, entry, state);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (!state.IsRoot)
                {
                    if (_options.DevicesWhenNotRoot == DeviceNodePolicy.Refuse)
                        throw new LayerUnpackException($"entry '{name}' is a {Describe(entry.EntryType)}: device nodes need root");
                    state.SkippedDeviceNodes++;
                    return;
                }
                RemoveExisting(parent, leaf, keepDirectory: false);
                var posix = (PosixTarEntry)entry;
                var type = entry.EntryType == TarEntryType.CharacterDevice ? Posix.TypeChar : Posix.TypeBlock;
                Posix.MknodAt(parent, leaf, type, NewFileMode, posix.DeviceMajor, posix.DeviceMinor);
                ApplyMetadataOfCreated(destination, type, entry, state);
                break;
            default:
                throw new LayerUnpackException($"entry '{name}' has the unsupported type {entry.EntryType}");
        }
        state.Touch(relative);
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
            using var directory = state.Root.GetDirectory(name, components.AsSpan(..^1));
            if (directory is not null)
                RemoveLowerLayerEntries(directory.Parent, directory.RelativePath, state);
            return;
        }
        var hidden = last[WhiteoutPrefix.Length..];
        if (hidden.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            return; // .wh..wh.* other than the opaque marker: reserved, no meaning
        if (hidden is "" or "." or "..")
            throw new LayerUnpackException($"entry '{name}' is not a valid whiteout");
        components[^1] = hidden;
        using var destination = state.Root.GetDestination(name, components, create: false);
        if (destination is null)
            return;
        if (state.Touched.Contains(destination.RelativePath))
            throw new LayerUnpackException($"entry '{name}' deletes '{destination.RelativePath}', which the same layer creates (contradictory entries)");
        RemoveTree(destination.Parent, destination.Name);
    }

    /// <summary>
    /// Empties a directory of what lower layers put there: entries this layer did not create go, and directories
    /// this layer did create (or entered) are searched the same way, since lower content may sit inside them.
    /// </summary>
    private static void RemoveLowerLayerEntries(SafeFileHandle directory, string relative, LayerState state)
    {
        foreach (var childName in ListNames(directory))
        {
            var childRelative = relative.Length == 0 ? childName : relative + "/" + childName;
            if (!state.Touched.Contains(childRelative))
            {
                RemoveTree(directory, childName);
                continue;
            }
            using var child = Posix.TryOpenAt(directory, childName, DirectoryFlags, 0, out _);
            if (child is not null)
                RemoveLowerLayerEntries(child, childRelative, state);
        }
    }

    /// <summary>Removes what is at <paramref name="name"/> (never following a symlink); true if a directory was kept.</summary>
    private static bool RemoveExisting(SafeFileHandle directory, string name, bool keepDirectory)
    {
        if (!Posix.TryLstatAt(directory, name, out var status))
            return false;
        if (status.IsDirectory && keepDirectory)
            return true;
        RemoveTree(directory, name);
        return false;
    }

    /// <summary>Metadata of what was just created at a destination, after checking it is still what was created.</summary>
    private static void ApplyMetadataOfCreated(SafeRoot.Destination destination, uint type, TarEntry entry, LayerState state)
    {
        using var handle = Posix.OpenPathAt(destination.Parent, destination.Name);
        if (!Posix.TryLstatAt(handle, "", out var status) || status.Type != type)
            throw new LayerUnpackException($"entry '{entry.Name}' was replaced while it was being unpacked");
        ApplyMetadata(handle, entry, state, destination.RelativePath);
    }

    /// <summary>Owner (as root), xattrs, mode, then mtime (directories at the end of the layer).</summary>
    private static void ApplyMetadata(SafeFileHandle handle, TarEntry entry, LayerState state, string relative)
    {
        var symlink = entry.EntryType == TarEntryType.SymbolicLink;
        if (state.IsRoot)
            Posix.ChownHandle(handle, entry.Uid, entry.Gid); // before chmod: chown clears setuid/setgid
        if (state.RawXattrs is { } raw)
        {
            foreach (var (name, value) in raw)
            {
                if (!ImageXattrs.IsApplied(name))
                    state.XattrsSkipped++;
                else if (Posix.TrySetXattrHandle(handle, name, value) != 0)
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
                         || Posix.TrySetXattrHandle(handle, key[XattrPrefix.Length..], Encoding.UTF8.GetBytes(value)) != 0)
                    state.XattrsNotApplied++;
            }
        }
        if (!symlink)
            Posix.ChmodHandle(handle, (uint)entry.Mode & PermissionBits);
        if (entry.EntryType == TarEntryType.Directory)
            state.DirectoryTimes.Add((relative, entry.ModificationTime));
        else
            Posix.SetModificationTimeHandle(handle, entry.ModificationTime);
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

    private sealed class LayerState(SafeRoot root, bool isRoot) : IDisposable
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

        /// <summary>Directories (relative, resolved) whose mtime is set at the end of the layer.</summary>
        public List<(string Relative, DateTimeOffset Time)> DirectoryTimes { get; } = [];

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
            foreach (var (relative, time) in DirectoryTimes.OrderByDescending(d => d.Relative.Length))
            {
                if (relative.Length == 0)
                {
                    Posix.SetModificationTimeHandle(Root.Handle, time);
                    continue;
                }
                using var place = Root.GetDestination(relative, SafeRoot.Split(relative), create: false);
                using var directory = place is null ? null : Posix.TryOpenAt(place.Parent, place.Name, DirectoryFlags, 0, out _);
                if (directory is not null)
                    Posix.SetModificationTimeHandle(directory, time);
            }
        }

        public void Dispose() => Root.Dispose();

        public LayerUnpackResult ToResult() => new()
        {
            Entries = Entries,
            SkippedDeviceNodes = SkippedDeviceNodes,
            XattrsNotApplied = XattrsNotApplied,
            XattrsSkipped = XattrsSkipped,
        };
    }
}
