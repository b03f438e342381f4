using System.Text.Json.Serialization;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Manifests;

/// <summary>An OCI content descriptor.</summary>
public sealed record OciDescriptor
{
    [JsonPropertyName("mediaType")] public required string MediaType { get; init; }
    [JsonPropertyName("digest")] public required Digest Digest { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
    [JsonPropertyName("platform")] public OciPlatform? Platform { get; init; }
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
}

/// <summary>A platform of an index entry or an image config.</summary>
public sealed record OciPlatform
{
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    [JsonPropertyName("os")] public required string Os { get; init; }
    [JsonPropertyName("variant")] public string? Variant { get; init; }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}

/// <summary>An image manifest (OCI, or Docker schema 2 which has the same shape).</summary>
public sealed record OciManifest
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; }
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
    [JsonPropertyName("config")] public required OciDescriptor Config { get; init; }
    [JsonPropertyName("layers")] public required IReadOnlyList<OciDescriptor> Layers { get; init; }
    [JsonPropertyName("subject")] public OciDescriptor? Subject { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>An image index (OCI) or manifest list (Docker).</summary>
public sealed record OciIndex
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; }
    [JsonPropertyName("manifests")] public required IReadOnlyList<OciDescriptor> Manifests { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>The parts of an image config TrustLaunch reads: platform, process defaults, diff_ids.</summary>
public sealed record ImageConfig
{
    [JsonPropertyName("architecture")] public string? Architecture { get; init; }
    [JsonPropertyName("os")] public string? Os { get; init; }
    [JsonPropertyName("config")] public ImageProcessConfig? Config { get; init; }
    [JsonPropertyName("rootfs")] public required ImageRootFs RootFs { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
}

/// <summary>The <c>config</c> object of an image config: how to run the image.</summary>
public sealed record ImageProcessConfig
{
    [JsonPropertyName("User")] public string? User { get; init; }
    [JsonPropertyName("Env")] public IReadOnlyList<string>? Env { get; init; }
    [JsonPropertyName("Entrypoint")] public IReadOnlyList<string>? Entrypoint { get; init; }
    [JsonPropertyName("Cmd")] public IReadOnlyList<string>? Cmd { get; init; }
    [JsonPropertyName("WorkingDir")] public string? WorkingDir { get; init; }
    [JsonPropertyName("Labels")] public IReadOnlyDictionary<string, string>? Labels { get; init; }
    [JsonPropertyName("StopSignal")] public string? StopSignal { get; init; }
}

public sealed record ImageRootFs
{
    [JsonPropertyName("type")] public string Type { get; init; } = "layers";
    [JsonPropertyName("diff_ids")] public required IReadOnlyList<Digest> DiffIds { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(OciIndex))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(OciDescriptor))]
public sealed partial class OciJsonContext : JsonSerializerContext;

/// <summary>For writing OCI documents: media types keep their '+' instead of "\u002B" (the default encoder's choice): same JSON, readable bytes.</summary>
public static class OciJson
{
    public static OciJsonContext Readable { get; } = new(new System.Text.Json.JsonSerializerOptions(OciJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
