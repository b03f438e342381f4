using System.Text.Json.Serialization;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Store;

/// <summary>An image recorded in the store: the reference it was pulled as and the manifest it resolved to.</summary>
public sealed record StoredImage
{
    [JsonPropertyName("reference")] public required string Reference { get; init; }
    [JsonPropertyName("manifestDigest")] public required Digest ManifestDigest { get; init; }
    [JsonPropertyName("mediaType")] public required string MediaType { get; init; }
    /// <summary>The index the manifest was chosen from, when the reference named one (kept by gc too).</summary>
    [JsonPropertyName("indexDigest")] public Digest? IndexDigest { get; init; }
    [JsonPropertyName("stored")] public DateTimeOffset Stored { get; init; }
}

/// <summary>What a garbage collection removed.</summary>
public sealed record GarbageCollectionResult(IReadOnlyList<Digest> RemovedBlobs, long BytesFreed, IReadOnlyList<string> RemovedIngestFiles);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(StoredImage))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
