using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Store;

/// <summary>
/// A content-addressed blob store shared by all images: <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>, written through
/// <c>ingest/</c> (digest-checked, then renamed into place, so a partial file never appears under blobs/ and
/// concurrent writers of one blob are safe), and <c>refs/</c> with one small JSON file per image reference,
/// replaced atomically. Pulls hold a shared lock on <c>store.lock</c> that <see cref="GarbageCollect"/> takes
/// exclusively, so gc never removes blobs of a pull in progress.
/// </summary>
public sealed class ContentStore
{
    public const string DefaultRoot = "/var/lib/trustlaunch";
    public const string RootEnvironmentVariable = "TRUSTLAUNCH_DATA";
    private const int CopyBufferSize = 128 * 1024;

    public ContentStore(string? root = null)
    {
        Root = PrivateDirectory.Ensure(root ?? Environment.GetEnvironmentVariable(RootEnvironmentVariable) ?? DefaultRoot);
        PrivateDirectory.Ensure(BlobsDirectory);
        PrivateDirectory.Ensure(Path.Combine(BlobsDirectory, "sha256"));
        PrivateDirectory.Ensure(IngestDirectory);
        PrivateDirectory.Ensure(RefsDirectory);
        if (!File.Exists(LockPath))
            File.WriteAllBytes(LockPath, []);
    }

    public string Root { get; }
    public string BlobsDirectory => Path.Combine(Root, "blobs");
    public string IngestDirectory => Path.Combine(Root, "ingest");
    public string RefsDirectory => Path.Combine(Root, "refs");
    private string LockPath => Path.Combine(Root, "store.lock");

    public string BlobPath(Digest digest) => Path.Combine(BlobsDirectory, digest.Algorithm, digest.Hex);

    public bool Contains(Digest digest) => File.Exists(BlobPath(digest));

    public FileStream OpenBlob(Digest digest) =>
        new(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public byte[] ReadBlob(Digest digest) => File.ReadAllBytes(BlobPath(digest));

    /// <summary>
    /// Reads a small blob (a manifest, a config) and hashes it again: a blob changed in the store since it was
    /// ingested is refused with <see cref="OciDigestMismatchException"/>, never parsed.
    /// </summary>
    public byte[] ReadVerifiedBlob(Digest digest, long? size = null)
    {
        var bytes = ReadBlob(digest);
        var what = $"blob {digest} in the content store {Root}";
        if (size is { } expected && bytes.Length != expected)
            throw new OciSizeMismatchException(what, expected, bytes.Length, bytes.Length > expected);
        using var hash = digest.CreateHash();
        hash.AppendData(bytes);
        var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        if (actual != digest)
            throw new OciDigestMismatchException(what, digest, actual);
        return bytes;
    }

    /// <summary><see cref="ReadVerifiedBlob(Digest, long?)"/> with the size and digest of a descriptor.</summary>
    public byte[] ReadVerifiedBlob(OciDescriptor descriptor) => ReadVerifiedBlob(descriptor.Digest, descriptor.Size);

    /// <summary>
    /// Opens a stored blob for streaming through a <see cref="VerifyingStream"/>: read to its end, it throws instead of
    /// ending when the bytes no longer hash to <paramref name="descriptor"/>'s digest or size.
    /// </summary>
    public VerifyingStream OpenVerifiedBlob(OciDescriptor descriptor) =>
        new(OpenBlob(descriptor.Digest), descriptor.Digest, descriptor.Size, $"blob {descriptor.Digest} in the content store {Root}");

    /// <summary>
    /// Copies <paramref name="source"/> into <c>ingest/</c>, checks size and digest, and renames it to its blob path.
    /// On any failure the ingest file is deleted and nothing appears under blobs/. Returns the blob path.
    /// </summary>
    public async Task<string> IngestAsync(Digest digest, long size, Stream source, IProgress<long>? bytesWritten = null, CancellationToken cancellationToken = default)
    {
        var target = BlobPath(digest);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var ingest = Path.Combine(IngestDirectory, $"{digest.Hex[..16]}-{Guid.NewGuid():N}");
        var verifying = source is VerifyingStream v && v.Expected == digest && v.ExpectedSize == size
            ? v
            : new VerifyingStream(source, digest, size, $"blob {digest}");
        // The lease keeps gc away for the whole write, including the moment between closing and renaming.
        using var lease = await AcquirePullLeaseAsync(cancellationToken);
        // FileShare.None takes an exclusive flock: gc never removes an ingest file whose writer is alive.
        var file = new FileStream(ingest, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        try
        {
            var buffer = new byte[CopyBufferSize];
            long total = 0;
            int read;
            while ((read = await verifying.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                total += read;
                bytesWritten?.Report(total);
            }
            if (!verifying.Verified)
                throw new InvalidOperationException($"blob {digest}: stream ended without being verified");
            file.Flush(flushToDisk: true);
            // Close (and unlock) before the rename: the flock belongs to the inode, and readers of blobs/ take a
            // shared one that an exclusive lock carried along under blobs/ would refuse.
            await file.DisposeAsync();
            File.Move(ingest, target, overwrite: true);
            return target;
        }
        catch
        {
            await file.DisposeAsync();
            File.Delete(ingest);
            throw;
        }
    }

    /// <summary>Stores small content (a manifest, an index) after checking it hashes to <paramref name="digest"/>.</summary>
    public Task<string> PutAsync(Digest digest, byte[] content, CancellationToken cancellationToken = default) =>
        Contains(digest) ? Task.FromResult(BlobPath(digest)) : IngestAsync(digest, content.Length, new MemoryStream(content, writable: false), null, cancellationToken);

    private string RefPath(string reference) => Path.Combine(RefsDirectory, Uri.EscapeDataString(reference) + ".json");

    /// <summary>Records (or replaces) an image: a temp file renamed over the reference's file.</summary>
    public void RecordImage(StoredImage image)
    {
        var temp = Path.Combine(RefsDirectory, $".tmp-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, image, StoreJsonContext.Default.StoredImage);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, RefPath(image.Reference), overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public StoredImage? Find(string reference)
    {
        var path = RefPath(reference);
        return File.Exists(path) ? Read(path) : null;
    }

    private static StoredImage Read(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize(stream, StoreJsonContext.Default.StoredImage)
               ?? throw new InvalidDataException($"image record {path} is null");
    }

    public IReadOnlyList<StoredImage> List() =>
        Directory.EnumerateFiles(RefsDirectory, "*.json").Select(Read).OrderBy(i => i.Reference, StringComparer.Ordinal).ToList();

    /// <summary>Forgets an image; its blobs stay until <see cref="GarbageCollect"/>. False when it was not there.</summary>
    public bool Remove(string reference)
    {
        var path = RefPath(reference);
        if (!File.Exists(path))
            return false;
        File.Delete(path);
        return true;
    }

    /// <summary>A shared lock held while a pull adds blobs; blocks (polling) while gc runs.</summary>
    public async Task<IDisposable> AcquirePullLeaseAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            try
            {
                // Read-only access with sharing takes a shared flock (LOCK_SH).
                return new FileStream(LockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Removes blobs no recorded image reaches (image → index → manifests → config and layers) and ingest files no live
    /// writer holds (leftovers of killed pulls). Waits up to <paramref name="wait"/> for running pulls to finish.
    /// </summary>
    public GarbageCollectionResult GarbageCollect(TimeSpan? wait = null)
    {
        using var exclusive = LockExclusive(wait ?? TimeSpan.FromSeconds(30));
        var reachable = new HashSet<Digest>();
        foreach (var image in List())
        {
            Mark(image.ManifestDigest, reachable);
            if (image.IndexDigest is { } index)
                Mark(index, reachable);
        }

        var removed = new List<Digest>();
        long freed = 0;
        foreach (var algorithmDir in Directory.EnumerateDirectories(BlobsDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(algorithmDir))
            {
                if (Digest.TryParse($"{Path.GetFileName(algorithmDir)}:{Path.GetFileName(file)}", out var digest, out _) && reachable.Contains(digest))
                    continue;
                freed += new FileInfo(file).Length;
                File.Delete(file);
                if (!digest.IsEmpty)
                    removed.Add(digest);
            }
        }

        var ingestRemoved = new List<string>();
        foreach (var file in Directory.EnumerateFiles(IngestDirectory).Concat(Directory.EnumerateFiles(RefsDirectory, ".tmp-*")))
        {
            try
            {
                using var probe = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                freed += probe.Length;
                File.Delete(file);
                ingestRemoved.Add(file);
            }
            catch (IOException)
            {
                // a live writer holds it
            }
        }
        return new GarbageCollectionResult(removed, freed, ingestRemoved);
    }

    private FileStream LockExclusive(TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException e)
            {
                throw new IOException($"content store {Root} is busy: a pull is still running after {wait.TotalSeconds:0} s", e);
            }
        }
    }

    private void Mark(Digest digest, HashSet<Digest> reachable)
    {
        if (!reachable.Add(digest) || !Contains(digest))
            return;
        byte[] bytes;
        string mediaType;
        try
        {
            bytes = ReadBlob(digest);
            mediaType = ManifestResponse.SniffMediaType(bytes);
        }
        catch (InvalidDataException)
        {
            return;
        }
        var response = new ManifestResponse(digest, mediaType, bytes);
        if (MediaTypes.IsIndex(mediaType))
        {
            foreach (var child in response.ParseIndex().Manifests)
                Mark(child.Digest, reachable);
        }
        else if (MediaTypes.IsManifest(mediaType) || mediaType == MediaTypes.OciManifest)
        {
            var manifest = response.ParseManifest();
            reachable.Add(manifest.Config.Digest);
            foreach (var layer in manifest.Layers)
                reachable.Add(layer.Digest);
            if (manifest.Subject is { } subject)
                reachable.Add(subject.Digest);
        }
    }
}
