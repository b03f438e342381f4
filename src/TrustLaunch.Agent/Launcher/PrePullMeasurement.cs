using System.Text.Json;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>What a judge needs of an image before any layer is fetched: the resolved manifest and its config.</summary>
internal static class PrePullMeasurement
{
    /// <summary>
    /// The measurement of <paramref name="resolved"/>: its digests from the manifest, its diff_ids from the config,
    /// which is fetched (bounded, digest-checked) into the store, or read back from it and hashed again.
    /// </summary>
    public static async Task<ImageMeasurement> MeasureAsync(RegistryClient client, ContentStore store, ImageReference reference, ResolvedImage resolved,
        CancellationToken cancellationToken)
    {
        var descriptor = resolved.Parsed.Config;
        if (descriptor.Size > ImagePuller.MaxConfigBytes)
            throw new InvalidDataException($"image {reference}: config of {descriptor.Size} bytes is more than the {ImagePuller.MaxConfigBytes} allowed");
        if (!store.Contains(descriptor.Digest))
        {
            await using var blob = await client.OpenBlobAsync(resolved.Reference, descriptor.Digest, descriptor.Size, cancellationToken).ConfigureAwait(false);
            await store.IngestAsync(descriptor.Digest, descriptor.Size, blob, null, cancellationToken).ConfigureAwait(false);
        }
        var config = JsonSerializer.Deserialize(store.ReadVerifiedBlob(descriptor), OciJsonContext.Default.ImageConfig)
                     ?? throw new InvalidDataException($"image {reference}: config {descriptor.Digest} is null");
        return new ImageMeasurement(reference, resolved.Manifest.Digest, descriptor.Digest, resolved.Parsed.Layers.Select(l => l.Digest).ToList(),
            config.RootFs.DiffIds);
    }
}
