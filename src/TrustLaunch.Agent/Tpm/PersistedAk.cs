using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Agent.Tpm;

/// <summary>
/// <c>DATA/ak.json</c>: the persistent handle of the AK this agent created and its TPM2B_PUBLIC, so a restart reuses
/// the key (and its registration) instead of making a new one, and never mistakes someone else's key for its own.
/// </summary>
internal sealed record PersistedAk(
    [property: JsonPropertyName("handle")] uint Handle,
    [property: JsonPropertyName("public")] byte[] Public)
{
    public const string FileName = "ak.json";

    public static PersistedAk? Load(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
            return null;
        return JsonSerializer.Deserialize(File.ReadAllBytes(path), AgentStateJsonContext.Default.PersistedAk)
            ?? throw new InvalidDataException($"{path} holds no AK record");
    }

    /// <summary>Written to a temporary file, flushed, then renamed over the old one: a crash leaves old or new.</summary>
    public void Save(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(file, this, AgentStateJsonContext.Default.PersistedAk);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}

[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PersistedAk))]
internal sealed partial class AgentStateJsonContext : JsonSerializerContext;
