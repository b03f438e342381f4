using System.Net;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Golden;

/// <summary>An image as the registry has it now, and the golden value artifact found under its <c>sha256-HEX.golden</c>
/// tag: its JWS, or why there is none (<see cref="Missing"/>) or it is unusable (<see cref="Malformed"/>).</summary>
public sealed record FetchedGolden(ResolvedImage Image, ImageReference TagReference, string? Jws, bool Missing, string? Malformed)
{
    public string Tag => TagReference.Tag!;
}

public static class GoldenFetch
{
    /// <summary>Resolves <paramref name="reference"/> now and fetches the golden value published for that manifest.</summary>
    public static async Task<FetchedGolden> FetchAsync(RegistryClient client, ImageReference reference, Platform? platform, CancellationToken ct)
    {
        var image = await client.ResolveImageAsync(reference, platform, ct).ConfigureAwait(false);
        var (tagReference, jws, missing, malformed) = await FetchArtifactAsync(client, reference, image.Manifest.Digest, ct).ConfigureAwait(false);
        return new FetchedGolden(image, tagReference, jws, missing, malformed);
    }

    /// <summary>
    /// The golden value JWS published in <paramref name="repository"/> for <paramref name="manifestDigest"/>, or why
    /// there is none (<c>Missing</c>) or it is unusable (<c>Malformed</c>). Found through the referrers API
    /// (artifactType <see cref="MediaTypes.GoldenValue"/>) when the registry serves it and lists one; when it lists
    /// several, the <c>sha256-HEX.golden</c> tag must say which is current (else refused: an older one could be a
    /// rollback); without the API or a referrer, the tag alone.
    /// </summary>
    public static async Task<(ImageReference TagReference, string? Jws, bool Missing, string? Malformed)> FetchArtifactAsync(
        RegistryClient client, ImageReference repository, Digest manifestDigest, CancellationToken ct)
    {
        var tagReference = repository.WithTag(GoldenArtifact.TagFor(manifestDigest));
        var referrers = await client.GetReferrersAsync(repository, manifestDigest, MediaTypes.GoldenValue, ct).ConfigureAwait(false) ?? [];
        ManifestResponse artifact;
        try
        {
            artifact = referrers.Count == 1
                ? await client.GetManifestAsync(repository.WithDigest(referrers[0].Digest), ct).ConfigureAwait(false)
                : await client.GetManifestAsync(tagReference, ct).ConfigureAwait(false);
        }
        catch (RegistryException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return referrers.Count > 1
                ? (tagReference, null, false, $"{referrers.Count} golden values refer to the image and no tag {tagReference.Tag} says which is current")
                : (tagReference, null, true, null);
        }
        if (referrers.Count > 1 && !referrers.Any(r => r.Digest == artifact.Digest))
            return (tagReference, null, false, $"tag {tagReference.Tag} names {artifact.Digest}, which is not among the {referrers.Count} golden values that refer to the image");
        try
        {
            // The subject is not checked here: it is not signed. The signed payload names the manifest, and the
            // verifier compares that with the image, so a golden value copied onto another image's tag says so.
            var layer = GoldenArtifact.ParseManifest(artifact.Bytes);
            if (layer.Size > GoldenArtifact.MaxJwsSize)
                throw new FormatException($"its JWS layer is {layer.Size} bytes, more than {GoldenArtifact.MaxJwsSize}");
            var blob = await ReadBlobAsync(client, tagReference, layer, ct).ConfigureAwait(false);
            return (tagReference, GoldenArtifact.ReadJws(layer, blob), false, null);
        }
        catch (FormatException e)
        {
            return (tagReference, null, false, e.Message);
        }
    }

    /// <summary>The image config, fetched and digest-checked.</summary>
    public static async Task<ImageConfig> FetchConfigAsync(RegistryClient client, ResolvedImage image, CancellationToken ct)
    {
        var descriptor = image.Parsed.Config;
        if (descriptor.Size > ImagePuller.MaxConfigBytes)
            throw new InvalidDataException($"image {image.Reference}: config of {descriptor.Size} bytes is more than the {ImagePuller.MaxConfigBytes} allowed");
        var bytes = await ReadBlobAsync(client, image.Reference, descriptor, ct).ConfigureAwait(false);
        return JsonSerializer.Deserialize(bytes, OciJsonContext.Default.ImageConfig)
               ?? throw new InvalidDataException($"image {image.Reference}: config {descriptor.Digest} is null");
    }

    private static async Task<byte[]> ReadBlobAsync(RegistryClient client, ImageReference repository, OciDescriptor descriptor, CancellationToken ct)
    {
        await using var stream = await client.OpenBlobAsync(repository, descriptor.Digest, descriptor.Size, ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
