using System.Text;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>
/// JWS compact serialization (RFC 7515), only what golden values, JWTs and sealed secrets need: a protected header
/// with <c>alg</c>, <c>kid</c>, <c>typ</c>. Written here rather than taken from a JOSE library because those rely on
/// reflection-based JSON or are not trimming-safe, and the CLI is published with Native AOT.
/// </summary>
public static class Jws
{
    /// <summary>Signs <paramref name="payload"/>: <c>b64url(header).b64url(payload).b64url(signature)</c>.</summary>
    public static string SignCompact(ReadOnlySpan<byte> payload, IPayloadSigner signer, string type) =>
        SignCompact(payload, signer, type, signer.KeyId);

    /// <summary>Signs with a protected header naming <paramref name="keyId"/> rather than the key's thumbprint, and
    /// no <c>typ</c> when <paramref name="type"/> is null (sealed secrets carry only <c>alg</c> and <c>kid</c>).</summary>
    public static string SignCompact(ReadOnlySpan<byte> payload, IPayloadSigner signer, string? type, string keyId)
    {
        var signingInput = EncodeHeader(signer.Algorithm, keyId, type) + "." + Base64UrlText.Encode(payload);
        var signature = signer.Sign(Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlText.Encode(signature);
    }

    /// <summary>Splits and decodes a compact JWS without checking its signature.</summary>
    /// <exception cref="FormatException">The text is not a compact JWS with a JSON object header naming
    /// <c>alg</c>.</exception>
    public static JwsParts Parse(string compact)
    {
        var parts = compact.Trim().Split('.');
        if (parts.Length != 3)
            throw new FormatException($"compact JWS has {parts.Length} parts, expected 3");
        const string notBase64Url = "compact JWS part is not base64url";
        var header = Base64UrlText.Decode(parts[0], notBase64Url);
        var payload = Base64UrlText.Decode(parts[1], notBase64Url);
        var signature = Base64UrlText.Decode(parts[2], notBase64Url);
        var (alg, kid, typ) = ParseHeader(header);
        var dot = compact.Trim().LastIndexOf('.');
        return new JwsParts(alg, kid, typ, payload, signature, Encoding.ASCII.GetBytes(compact.Trim()[..dot]));
    }

    /// <summary>Reads a protected header: a JSON object with a string <c>alg</c>, optional string <c>kid</c> and
    /// <c>typ</c>, no <c>crit</c> and no duplicate member.</summary>
    internal static (string Algorithm, string? KeyId, string? Type) ParseHeader(byte[] header)
    {
        try
        {
            // Duplicate members (two "kid"s read differently by different parsers) are refused.
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException("JWS header is not a JSON object");
            var alg = doc.RootElement.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString()!
                : throw new FormatException("JWS header has no string 'alg'");
            string? kid = null, typ = null;
            if (doc.RootElement.TryGetProperty("kid", out var k))
                kid = k.ValueKind == JsonValueKind.String ? k.GetString() : throw new FormatException("JWS header 'kid' is not a string");
            if (doc.RootElement.TryGetProperty("typ", out var t))
                typ = t.ValueKind == JsonValueKind.String ? t.GetString() : throw new FormatException("JWS header 'typ' is not a string");
            if (doc.RootElement.TryGetProperty("crit", out _))
                throw new FormatException("JWS header has 'crit' extensions, none are understood");
            return (alg, kid, typ);
        }
        catch (JsonException e)
        {
            throw new FormatException($"JWS header is not JSON: {e.Message}");
        }
    }

    /// <summary>The protected header <c>{"alg","kid","typ"}</c> of a signature by <paramref name="signer"/>, base64url.</summary>
    internal static string EncodeHeader(IPayloadSigner signer, string type) => EncodeHeader(signer.Algorithm, signer.KeyId, type);

    private static string EncodeHeader(string algorithm, string keyId, string? type)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("alg", algorithm);
            w.WriteString("kid", keyId);
            if (type is not null)
                w.WriteString("typ", type);
            w.WriteEndObject();
        }
        return Base64UrlText.Encode(buffer.ToArray());
    }
}

/// <summary>A decoded compact JWS. <see cref="SigningInput"/> is the ASCII bytes the signature covers.</summary>
public sealed record JwsParts(string Algorithm, string? KeyId, string? Type, byte[] Payload, byte[] Signature, byte[] SigningInput)
{
    /// <summary>This one signature as a compact JWS: <c>SigningInput.b64url(Signature)</c>.</summary>
    public string ToCompact() => Encoding.ASCII.GetString(SigningInput) + "." + Base64UrlText.Encode(Signature);
}
