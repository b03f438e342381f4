using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Content;
using ZstdSharp;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Applies OCI image layers (tar, optionally gzip or zstd compressed) onto a root filesystem directory, streaming,
/// with the diff_id checked and every path confined to the root (see <see cref="SafeRoot"/>).
/// </summary>
public sealed partial class LayerUnpacker(UnpackOptions? options = null)
{
    private const uint RootDirectoryMode = 0x1ED; // 0755

    private readonly UnpackOptions _options = options ?? new UnpackOptions();

    private bool IsRoot => _options.RunningAsRoot ?? Posix.IsRoot;

    /// <summary>
    /// Unpacks <paramref name="layers"/> in order into a fresh sibling temporary directory and renames it to
    /// <paramref name="targetDirectory"/> once every layer is applied and its diff_id checked. On any failure the
    /// temporary directory is removed and <paramref name="targetDirectory"/> is not created.
    /// </summary>
    public async Task<ImageUnpackResult> UnpackImageAsync(IEnumerable<LayerSource> layers, string targetDirectory, CancellationToken cancellationToken = default)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        if (Posix.TryLstat(target, out _))
            throw new IOException($"the unpack target '{target}' already exists");
        var parent = Path.GetDirectoryName(target) ?? throw new IOException($"the unpack target '{target}' has no parent directory");
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(target)}.unpacking-{Guid.NewGuid():N}");
        Posix.Mkdir(temp, RootDirectoryMode);
        try
        {
            Posix.Chmod(temp, RootDirectoryMode);
            var results = new List<LayerUnpackResult>();
            foreach (var layer in layers)
                results.Add(await ApplyLayerCoreAsync(layer, new SafeRoot(temp, target), cancellationToken).ConfigureAwait(false));
            Directory.Move(temp, target);
            return new ImageUnpackResult(target, results);
        }
        catch (Exception failure)
        {
            try
            {
                if (Posix.TryLstat(temp, out _))
                    RemoveTree(temp);
            }
            catch (Exception cleanup)
            {
                throw new IOException($"{failure.Message} (and the temporary directory '{temp}' could not be removed: {cleanup.Message})", failure);
            }
            throw;
        }
    }

    /// <summary>
    /// Decompresses and applies one layer onto an existing root filesystem directory, then checks its diff_id. The
    /// check can only happen at the end of the stream: on a mismatch the directory holds the refused layer's files,
    /// so callers unpack into a scratch directory (as <see cref="UnpackImageAsync"/> does).
    /// </summary>
    public Task<LayerUnpackResult> ApplyLayerAsync(LayerSource layer, string rootDirectory, CancellationToken cancellationToken = default) =>
        ApplyLayerCoreAsync(layer, CreateRoot(rootDirectory), cancellationToken);

    /// <summary>Applies an uncompressed layer tar onto an existing root filesystem directory (no diff_id check).</summary>
    public async Task<LayerUnpackResult> ApplyLayerAsync(Stream tar, string rootDirectory, CancellationToken cancellationToken = default)
    {
        using var state = new LayerState(CreateRoot(rootDirectory), IsRoot);
        await ApplyTarAsync(tar, state, cancellationToken).ConfigureAwait(false);
        return state.ToResult();
    }

    private static SafeRoot CreateRoot(string rootDirectory)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootDirectory));
        if (!Posix.TryLstat(root, out var status) || !status.IsDirectory)
            throw new DirectoryNotFoundException($"the root filesystem '{root}' is not a directory");
        return new SafeRoot(root, root);
    }

    private async Task<LayerUnpackResult> ApplyLayerCoreAsync(LayerSource layer, SafeRoot root, CancellationToken cancellationToken)
    {
        using var state = new LayerState(root, IsRoot);
        using var hash = layer.DiffId.CreateHash();
        var compressed = await layer.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tar = await LayerDecompression.OpenAsync(compressed, layer.Compression, layer.Digest, _options.Limits, cancellationToken).ConfigureAwait(false);
        await using var hashing = new HashingStream(tar, hash);
        await using var readAhead = new ReadAheadStream(hashing, cancellationToken);
        try
        {
            await ApplyTarAsync(readAhead, state, cancellationToken).ConfigureAwait(false);
            await readAhead.DrainAsync(cancellationToken).ConfigureAwait(false);
            // The source to its very end, past what the decompressor needed: a verifying source (a stored blob, a
            // ciphertext with its HMAC) checks itself there, before the tree can be renamed into place.
            await compressed.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ZstdException)
        {
            throw new LayerUnpackException($"layer {layer.Digest}: {e.Message}", e);
        }
        var actual = Digest.FromHash(layer.DiffId.Algorithm, hash.GetHashAndReset());
        if (actual != layer.DiffId)
            throw new LayerUnpackException($"layer {layer.Digest}: the uncompressed tar has diff_id {actual} but the image config says {layer.DiffId}");
        return state.ToResult() with { DiffId = actual, UncompressedBytes = hashing.Count };
    }

    private async Task ApplyTarAsync(Stream tar, LayerState state, CancellationToken cancellationToken)
    {
        await using var tap = new PaxXattrTap(tar);
        await using var reader = new TarReader(tap, leaveOpen: true);
        long ordinal = 0;
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            state.RawXattrs = tap.Take(++ordinal);
            await ApplyEntryAsync(entry, state, cancellationToken).ConfigureAwait(false);
        }
        state.ApplyDirectoryTimes();
    }

    /// <summary>Removes a file or a directory tree without following symbolic links.</summary>
    internal static void RemoveTree(string path)
    {
        var fd = Libc.Open(Path.GetDirectoryName(path) ?? "/", Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0)
            throw new IOException($"open '{Path.GetDirectoryName(path)}': {Libc.ErrorText(Libc.LastError)}");
        using var parent = new SafeFileHandle(fd, ownsHandle: true);
        RemoveTree(parent, Path.GetFileName(path));
    }

    /// <summary>Removes <paramref name="name"/> in <paramref name="directory"/> and, if a directory, all it holds.</summary>
    private static void RemoveTree(SafeFileHandle directory, string name)
    {
        if (!Posix.TryLstatAt(directory, name, out var status))
            return;
        if (status.IsDirectory)
        {
            using var child = Posix.OpenAt(directory, name, DirectoryFlags);
            foreach (var childName in ListNames(child))
                RemoveTree(child, childName);
        }
        Posix.UnlinkAt(directory, name, status.IsDirectory);
    }

    /// <summary>The names in a held directory, listed through its handle.</summary>
    private static List<string> ListNames(SafeFileHandle directory) =>
        Directory.EnumerateFileSystemEntries(Posix.ProcPath(directory), "*", AllEntries).Select(Path.GetFileName).OfType<string>().ToList();

    private static readonly int DirectoryFlags = Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW;

    internal static readonly EnumerationOptions AllEntries = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        MatchType = MatchType.Simple,
        ReturnSpecialDirectories = false,
    };
}
