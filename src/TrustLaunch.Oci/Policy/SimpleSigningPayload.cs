using System.Text.Json;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Policy;

/// <summary>
/// The "simple signing" payload both signature formats sign:
/// <c>{"critical":{"identity":{"docker-reference":REF},"image":{"docker-manifest-digest":DIGEST},"type":TYPE},"optional":{…}}</c> (cosign writes <c>"optional":null</c>),
/// TYPE <c>atomic container signature</c> (OpenPGP) or <c>cosign container image signature</c> (sigstore). Parsed as
/// strictly as containers/image does: the critical section must hold exactly these members.
/// </summary>
public sealed record SimpleSigningPayload(string DockerReference, Digest ManifestDigest)
{
    public const string AtomicType = "atomic container signature";
    public const string CosignType = "cosign container image signature";

    /// <summary>The payload bytes: compact JSON, <c>optional</c> naming the creator and the time (seconds since the epoch).</summary>
    public byte[] Serialize(string type, DateTimeOffset created)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("critical");
            writer.WriteStartObject("identity");
            writer.WriteString("docker-reference", DockerReference);
            writer.WriteEndObject();
            writer.WriteStartObject("image");
            writer.WriteString("docker-manifest-digest", ManifestDigest.ToString());
            writer.WriteEndObject();
            writer.WriteString("type", type);
            writer.WriteEndObject();
            writer.WriteStartObject("optional");
            writer.WriteString("creator", "trustlaunch");
            writer.WriteNumber("timestamp", created.ToUnixTimeSeconds());
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <exception cref="FormatException">What is wrong with the payload.</exception>
    public static SimpleSigningPayload Parse(ReadOnlySpan<byte> json, string expectedType)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"signature payload is not JSON: {e.Message}");
        }
        using (doc)
        {
            var root = Object(doc.RootElement, "payload", "critical", "optional");
            if (!root.TryGetValue("critical", out var criticalElement))
                throw new FormatException("signature payload has no critical section");
            if (root.TryGetValue("optional", out var optional) && optional.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw new FormatException("signature payload: optional is neither an object nor null");
            var critical = Object(criticalElement, "critical", "identity", "image", "type");
            var type = String(critical, "type", "critical");
            if (type != expectedType)
                throw new FormatException($"signature payload type is '{type}', expected '{expectedType}'");
            var identity = Object(Member(critical, "identity", "critical"), "critical.identity", "docker-reference");
            var image = Object(Member(critical, "image", "critical"), "critical.image", "docker-manifest-digest");
            var digestText = String(image, "docker-manifest-digest", "critical.image");
            if (!Digest.TryParse(digestText, out var digest, out var error))
                throw new FormatException($"signature payload docker-manifest-digest: {error}");
            return new SimpleSigningPayload(String(identity, "docker-reference", "critical.identity"), digest);
        }
    }

    private static Dictionary<string, JsonElement> Object(JsonElement element, string what, params string[] allowed)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException($"signature payload: {what} is not an object");
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in element.EnumerateObject())
        {
            if (!allowed.Contains(member.Name))
                throw new FormatException($"signature payload: unknown member '{member.Name}' in {what}");
            if (!members.TryAdd(member.Name, member.Value))
                throw new FormatException($"signature payload: member '{member.Name}' appears twice in {what}");
        }
        return members;
    }

    private static JsonElement Member(Dictionary<string, JsonElement> members, string name, string what) =>
        members.TryGetValue(name, out var value) ? value : throw new FormatException($"signature payload: {what} has no {name}");

    private static string String(Dictionary<string, JsonElement> members, string name, string what) =>
        Member(members, name, what) is { ValueKind: JsonValueKind.String } value
            ? value.GetString()!
            : throw new FormatException($"signature payload: {what}.{name} is not a string");

    public override string ToString() => $"{DockerReference} {ManifestDigest}";
}
