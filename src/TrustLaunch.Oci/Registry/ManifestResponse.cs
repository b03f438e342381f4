using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Registry;

/// <summary>A manifest or index exactly as the registry sent it, with its verified digest.</summary>
public sealed record ManifestResponse(Digest Digest, string MediaType, byte[] Bytes)
{
    public bool IsIndex => MediaTypes.IsIndex(MediaType);

    public OciManifest ParseManifest() =>
        JsonSerializer.Deserialize(Bytes, OciJsonContext.Default.OciManifest) ?? throw new InvalidDataException($"manifest {Digest} is null");

    public OciIndex ParseIndex() =>
        JsonSerializer.Deserialize(Bytes, OciJsonContext.Default.OciIndex) ?? throw new InvalidDataException($"index {Digest} is null");

    /// <summary>The media type a manifest declares in its JSON, or what its shape says when it declares none.</summary>
    internal static string SniffMediaType(byte[] bytes)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("manifest is not a JSON object");
            if (root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String && mt.GetString() is { Length: > 0 } declared)
                return declared;
            if (root.TryGetProperty("manifests", out _))
                return MediaTypes.OciIndex;
            if (root.TryGetProperty("config", out _))
                return MediaTypes.OciManifest;
            throw new InvalidDataException("manifest has no mediaType, config or manifests");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"manifest is not valid JSON: {e.Message}", e);
        }
    }
}

/// <summary>An image resolved to one platform's manifest.</summary>
public sealed record ResolvedImage(ImageReference Reference, ManifestResponse Manifest, OciManifest Parsed, ManifestResponse? Index);
