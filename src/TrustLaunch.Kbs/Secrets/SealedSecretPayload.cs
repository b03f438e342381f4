using System.Text.Json;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Kbs.Secrets;

/// <summary>
/// The signed payload of a sealed secret (CoCo's <c>secret</c> crate, version 0.1.0, provider <c>kbs</c>). Binary
/// members (<c>encrypted_key</c>, <c>encrypted_data</c>, <c>iv</c>) are standard base64, as CoCo writes them.
/// </summary>
public abstract record SealedSecretPayload
{
    public const string Version = "0.1.0";
    public const string Provider = "kbs";
    public const string WrapType = "A256GCM";

    private static readonly string[] VaultMembers = ["version", "type", "provider", "name", "provider_settings", "annotations"];
    private static readonly string[] EnvelopeMembers =
        ["version", "type", "provider", "key_id", "encrypted_key", "encrypted_data", "wrap_type", "iv", "provider_settings", "annotations"];

    /// <exception cref="SealedSecretException">Not a payload of a known version, type, provider and wrap type.</exception>
    internal static SealedSecretPayload Parse(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SealedSecretException("sealed secret payload is not a JSON object");
            if (String(root, "version") != Version)
                throw new SealedSecretException($"sealed secret version '{String(root, "version")}' is not supported (expected {Version})");
            var type = String(root, "type");
            if (type is not (VaultSecret.Type or EnvelopeSecret.Type))
                throw new SealedSecretException($"sealed secret type '{type}' is not supported (expected vault or envelope)");
            OnlyMembers(root, type == VaultSecret.Type ? VaultMembers : EnvelopeMembers, type);
            if (String(root, "provider") != Provider)
                throw new SealedSecretException($"sealed secret provider '{String(root, "provider")}' is not supported (expected {Provider})");
            Object(root, "provider_settings");
            Object(root, "annotations");
            if (type == VaultSecret.Type)
                return new VaultSecret(ResourceUri(root, "name"));
            if (String(root, "wrap_type") != WrapType)
                throw new SealedSecretException($"sealed secret wrap_type '{String(root, "wrap_type")}' is not supported (expected {WrapType})");
            return new EnvelopeSecret(ResourceUri(root, "key_id"), Bytes(root, "encrypted_key"), Bytes(root, "encrypted_data"), Bytes(root, "iv"));
        }
        catch (JsonException e)
        {
            throw new SealedSecretException($"sealed secret payload is not JSON: {e.Message}");
        }
    }

    internal abstract void Write(Utf8JsonWriter w);

    private protected static void WriteCommon(Utf8JsonWriter w, string type)
    {
        w.WriteString("version", Version);
        w.WriteString("type", type);
        w.WriteString("provider", Provider);
    }

    private protected static void WriteTrailer(Utf8JsonWriter w)
    {
        w.WriteStartObject("provider_settings");
        w.WriteEndObject();
        w.WriteStartObject("annotations");
        w.WriteEndObject();
    }

    private static void OnlyMembers(JsonElement root, string[] allowed, string type)
    {
        foreach (var member in root.EnumerateObject())
        {
            if (!allowed.Contains(member.Name, StringComparer.Ordinal))
                throw new SealedSecretException($"sealed secret payload of type {type} has an unknown member '{member.Name}'");
        }
    }

    private static string String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new SealedSecretException($"sealed secret payload has no string '{name}'");

    private static void Object(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object)
            throw new SealedSecretException($"sealed secret payload has no object '{name}'");
    }

    private static string ResourceUri(JsonElement root, string name)
    {
        var text = String(root, name);
        try
        {
            KbsResourceUri.Parse(text);
            return text;
        }
        catch (FormatException e)
        {
            throw new SealedSecretException($"sealed secret '{name}' is not a resource URI: {e.Message}");
        }
    }

    private static byte[] Bytes(JsonElement root, string name)
    {
        var text = String(root, name);
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new SealedSecretException($"sealed secret '{name}' is not base64");
        }
    }
}

/// <summary><c>vault</c>: the value is the broker resource <see cref="Name"/> itself.</summary>
public sealed record VaultSecret(string Name) : SealedSecretPayload
{
    public const string Type = "vault";

    internal override void Write(Utf8JsonWriter w)
    {
        WriteCommon(w, Type);
        w.WriteString("name", Name);
        WriteTrailer(w);
    }
}

/// <summary>
/// <c>envelope</c>: <see cref="KeyId"/> names a 32-byte KEK in the broker; <see cref="EncryptedKey"/> is the
/// per-secret 32-byte data key wrapped under it with AES Key Wrap (RFC 3394: the KEK only ever wraps one random
/// key, so a deterministic wrap with its own integrity check needs no nonce); <see cref="EncryptedData"/> is the
/// value under the data key, AES-256-GCM with <see cref="Iv"/> (12 bytes), the 16-byte tag appended.
/// </summary>
public sealed record EnvelopeSecret(string KeyId, byte[] EncryptedKey, byte[] EncryptedData, byte[] Iv) : SealedSecretPayload
{
    public const string Type = "envelope";

    internal override void Write(Utf8JsonWriter w)
    {
        WriteCommon(w, Type);
        w.WriteString("key_id", KeyId);
        w.WriteString("encrypted_key", Convert.ToBase64String(EncryptedKey));
        w.WriteString("encrypted_data", Convert.ToBase64String(EncryptedData));
        w.WriteString("wrap_type", WrapType);
        w.WriteString("iv", Convert.ToBase64String(Iv));
        WriteTrailer(w);
    }
}
