using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Oci.Pull;

/// <summary>Progress of one blob of a pull. <see cref="BytesDone"/> equals <see cref="BytesTotal"/> when it is stored.</summary>
public sealed record PullProgress(Digest Digest, string MediaType, long BytesDone, long BytesTotal, bool AlreadyPresent = false)
{
    public bool Completed => BytesDone == BytesTotal;
}

public sealed record PullOptions
{
    /// <summary>The platform picked from an index; default the host's (<see cref="Platform.Default"/>).</summary>
    public Platform? Platform { get; init; }

    public int MaxParallelDownloads { get; init; } = 3;
}

/// <summary>A pulled image: its manifest and config, and where the store keeps each blob.</summary>
public sealed record PulledImage(
    ImageReference Reference,
    Digest ManifestDigest,
    OciManifest Manifest,
    ImageConfig Config,
    string ManifestPath,
    string ConfigPath,
    IReadOnlyList<string> LayerPaths,
    Digest? IndexDigest,
    int BlobsDownloaded,
    int BlobsReused,
    int Reconnects,
    StoredImage Record);

/// <summary>
/// Pulls an image into a <see cref="ContentStore"/>: resolve the reference (choosing the platform from an index),
/// store the manifest, fetch config and layers in parallel — each verified while it streams, skipped when the store
/// already has it — then record the image.
/// </summary>
public sealed class ImagePuller(RegistryClient client, ContentStore store)
{
    /// <summary>Upper bound on an image config blob, checked before it is fetched.</summary>
    public const int MaxConfigBytes = 8 * 1024 * 1024;

    public async Task<PulledImage> PullAsync(ImageReference reference, PullOptions? options = null, IProgress<PullProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new PullOptions();
        var resolved = await client.ResolveImageAsync(reference, options.Platform, cancellationToken);
        return await PullAsync(reference, resolved, options, progress, cancellationToken);
    }

    /// <summary>
    /// Pulls exactly what <paramref name="resolved"/> names, by digest and with the sizes of its manifest (never
    /// resolving <paramref name="reference"/> again, so a tag moved meanwhile changes nothing), and records it under
    /// <paramref name="reference"/>.
    /// </summary>
    public async Task<PulledImage> PullAsync(ImageReference reference, ResolvedImage resolved, PullOptions? options = null, IProgress<PullProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new PullOptions();
        using var lease = await store.AcquirePullLeaseAsync(cancellationToken);
        var manifest = resolved.Parsed;
        if (manifest.Config.Size > MaxConfigBytes)
            throw new InvalidDataException($"image {reference}: config of {manifest.Config.Size} bytes is more than the {MaxConfigBytes} allowed");

        var blobs = new[] { manifest.Config }.Concat(manifest.Layers).DistinctBy(d => d.Digest).ToList();
        var downloaded = 0;
        var reused = 0;
        var reconnects = 0;
        await Parallel.ForEachAsync(blobs, new ParallelOptions
        {
            MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelDownloads),
            CancellationToken = cancellationToken,
        }, async (blob, ct) =>
        {
            if (store.Contains(blob.Digest))
            {
                Interlocked.Increment(ref reused);
                progress?.Report(new PullProgress(blob.Digest, blob.MediaType, blob.Size, blob.Size, AlreadyPresent: true));
                return;
            }
            progress?.Report(new PullProgress(blob.Digest, blob.MediaType, 0, blob.Size));
            var bytes = progress is null ? null : new InlineProgress<long>(done => progress.Report(new PullProgress(blob.Digest, blob.MediaType, done, blob.Size)));
            // Read again from the next mirror when one serves bytes that do not match the digest.
            await client.ReadBlobAsync(resolved.Reference, blob.Digest, blob.Size, async (stream, token) =>
            {
                await store.IngestAsync(blob.Digest, blob.Size, stream, bytes, token);
                Interlocked.Add(ref reconnects, stream.Reopens);
                return true;
            }, ct);
            Interlocked.Increment(ref downloaded);
        });

        // Manifests go in after the blobs they name, so a stored manifest always has its content.
        var manifestPath = await store.PutAsync(resolved.Manifest.Digest, resolved.Manifest.Bytes, cancellationToken);
        if (resolved.Index is { } index)
            await store.PutAsync(index.Digest, index.Bytes, cancellationToken);

        var config = JsonSerializer.Deserialize(store.ReadVerifiedBlob(manifest.Config), OciJsonContext.Default.ImageConfig)
                     ?? throw new InvalidDataException($"image {reference}: config {manifest.Config.Digest} is null");
        var record = new StoredImage
        {
            Reference = reference.ToString(),
            ManifestDigest = resolved.Manifest.Digest,
            MediaType = resolved.Manifest.MediaType,
            IndexDigest = resolved.Index?.Digest,
            Stored = DateTimeOffset.UtcNow,
        };
        // Pulling what the reference already records leaves the record (and when it was stored) alone: no write and
        // fsync at every launch of a cached image.
        if (store.Find(record.Reference) is not { } recorded || recorded with { Stored = record.Stored } != record)
            store.RecordImage(record);
        return new PulledImage(reference, resolved.Manifest.Digest, manifest, config, manifestPath, store.BlobPath(manifest.Config.Digest),
            manifest.Layers.Select(l => store.BlobPath(l.Digest)).ToList(), resolved.Index?.Digest, downloaded, reused, reconnects,
            store.Find(record.Reference) is { } kept && kept with { Stored = record.Stored } == record ? kept : record);
    }

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/> which posts to the thread pool.</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
