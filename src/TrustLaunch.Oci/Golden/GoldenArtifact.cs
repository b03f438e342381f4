using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Golden;

/// <summary>
/// The registry form of a golden value: an OCI artifact manifest with <c>artifactType</c>
/// <see cref="MediaTypes.GoldenValue"/>, the empty config descriptor (<c>{}</c>), one layer holding the JWS bytes
/// (<see cref="GoldenValue.JwsType"/> for a compact JWS, <see cref="JwsJsonLayerType"/> for the JSON serialization a
/// countersignature makes) and <c>subject</c> = the image manifest; tagged <c>sha256-HEX.golden</c> for registries
/// without the referrers API.
/// </summary>
public static class GoldenArtifact
{
    public const string TagSuffix = ".golden";

    /// <summary>The layer media type of a golden value in JWS JSON serialization (several signatures).</summary>
    public const string JwsJsonLayerType = "application/vnd.trustlaunch.golden.v1.jws+json";

    /// <summary>The layer media type for <paramref name="jws"/>: compact or JSON serialization.</summary>
    public static string LayerTypeOf(string jws) => Jose.JwsJson.IsJson(jws) ? JwsJsonLayerType : GoldenValue.JwsType;

    /// <summary>The empty JSON config blob, <c>{}</c>.</summary>
    public static ReadOnlyMemory<byte> EmptyConfig { get; } = "{}"u8.ToArray();

    public static OciDescriptor EmptyConfigDescriptor { get; } = new()
    {
        MediaType = MediaTypes.OciEmpty,
        Digest = Digest.Sha256("{}"u8),
        Size = 2,
    };

    /// <summary>The tag that holds the golden value of <paramref name="manifestDigest"/>: <c>sha256-HEX.golden</c>.</summary>
    public static string TagFor(Digest manifestDigest) => $"{manifestDigest.Algorithm}-{manifestDigest.Hex}{TagSuffix}";

    /// <summary>Builds the artifact: the manifest bytes to push and the blobs it references (config, JWS layer).</summary>
    public static GoldenArtifactContent Build(string jws, OciDescriptor imageManifest)
    {
        var layer = Encoding.ASCII.GetBytes(jws);
        var manifest = new OciManifest
        {
            MediaType = MediaTypes.OciManifest,
            ArtifactType = MediaTypes.GoldenValue,
            Config = EmptyConfigDescriptor,
            Layers = [new OciDescriptor { MediaType = LayerTypeOf(jws), Digest = Digest.Sha256(layer), Size = layer.Length }],
            Subject = new OciDescriptor { MediaType = imageManifest.MediaType, Digest = imageManifest.Digest, Size = imageManifest.Size },
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Readable.OciManifest);
        return new GoldenArtifactContent(bytes, Digest.Sha256(bytes), manifest, EmptyConfig, layer);
    }

    /// <summary>Pushes the blobs then the manifest under <paramref name="tagReference"/>; returns the manifest digest.</summary>
    public static async Task<Digest> PushAsync(RegistryClient client, ImageReference tagReference, GoldenArtifactContent artifact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(artifact);
        await client.PushBlobAsync(tagReference, artifact.Config, ct).ConfigureAwait(false);
        await client.PushBlobAsync(tagReference, artifact.Layer, ct).ConfigureAwait(false);
        return await client.PushManifestAsync(tagReference, artifact.ManifestBytes, MediaTypes.OciManifest, ct).ConfigureAwait(false);
    }

    /// <summary>Checks a fetched artifact manifest and returns the descriptor of its JWS layer.</summary>
    /// <exception cref="FormatException">Not a golden value artifact, with what was found.</exception>
    public static OciDescriptor ParseManifest(ReadOnlySpan<byte> manifestBytes, Digest? expectedSubject = null)
    {
        OciManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(manifestBytes, OciJsonContext.Default.OciManifest);
        }
        catch (JsonException e)
        {
            throw new FormatException($"golden value artifact manifest is not valid JSON: {e.Message}");
        }
        if (manifest is null)
            throw new FormatException("golden value artifact manifest is null");
        var artifactType = manifest.ArtifactType ?? manifest.Config.MediaType;
        if (artifactType != MediaTypes.GoldenValue)
            throw new FormatException($"artifact type is '{artifactType}', expected '{MediaTypes.GoldenValue}'");
        if (manifest.Layers.Count != 1 || manifest.Layers[0].MediaType is not (GoldenValue.JwsType or JwsJsonLayerType))
            throw new FormatException($"golden value artifact must have exactly one '{GoldenValue.JwsType}' or '{JwsJsonLayerType}' layer");
        if (manifest.Layers[0].Size is <= 0 or > MaxJwsSize)
            throw new FormatException($"golden value layer size {manifest.Layers[0].Size} is outside 1..{MaxJwsSize}");
        if (expectedSubject is { } s && manifest.Subject?.Digest != s)
            throw new FormatException($"golden value artifact subject is {manifest.Subject?.Digest.ToString() ?? "missing"}, expected {s}");
        return manifest.Layers[0];
    }

    /// <summary>The JWS text of a fetched layer blob, after checking it against its descriptor.</summary>
    public static string ReadJws(OciDescriptor layer, ReadOnlySpan<byte> blob)
    {
        if (blob.Length != layer.Size || Digest.Sha256(blob) != layer.Digest)
            throw new FormatException($"golden value layer does not match its descriptor {layer.Digest}");
        if (blob.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e) >= 0)
            throw new FormatException("golden value layer is not printable ASCII");
        var jws = Encoding.ASCII.GetString(blob);
        if (LayerTypeOf(jws) != layer.MediaType)
            throw new FormatException($"golden value layer of type '{layer.MediaType}' holds a JWS in the other serialization");
        return jws;
    }

    /// <summary>Upper bound on a golden value JWS, checked before fetching it.</summary>
    public const long MaxJwsSize = 1 << 20;
}

/// <summary>A built golden value artifact: manifest bytes and digest, and the two blobs to push first.</summary>
public sealed record GoldenArtifactContent(byte[] ManifestBytes, Digest ManifestDigest, OciManifest Manifest, ReadOnlyMemory<byte> Config, byte[] Layer);
