using System.Text;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>
/// JWS JSON serialization, general syntax (RFC 7515 §7.2.1): one payload, several signatures, each over
/// <c>b64url(protected).b64url(payload)</c> and so verifiable on its own. Only protected headers: a per-signature
/// unprotected <c>header</c> (whose <c>kid</c> nobody signed) and the flattened syntax are refused, as is any unknown or
/// duplicate member.
/// </summary>
public static class JwsJson
{
    private const string PayloadMember = "payload";
    private const string SignaturesMember = "signatures";
    private const string ProtectedMember = "protected";
    private const string SignatureMember = "signature";

    /// <summary>True when <paramref name="text"/> is in the JSON serialization (a compact JWS never starts with <c>{</c>).</summary>
    public static bool IsJson(string text) => text.AsSpan().TrimStart().StartsWith("{", StringComparison.Ordinal);

    /// <summary>The signatures of a JWS in either serialization, decoded but not checked; a compact JWS has one.</summary>
    /// <exception cref="FormatException">Not a JWS, with the reason.</exception>
    public static IReadOnlyList<JwsParts> ParseSignatures(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsJson(text))
            return [Jws.Parse(text)];
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowDuplicateProperties = false });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new FormatException("JWS JSON is not an object");
            foreach (var member in root.EnumerateObject())
            {
                if (member.Name is not (PayloadMember or SignaturesMember))
                    throw new FormatException($"JWS JSON has member '{member.Name}'; only the general syntax with protected headers is read");
            }
            var payloadText = String(root, PayloadMember, "JWS JSON");
            var payload = Base64UrlText.Decode(payloadText, "JWS JSON payload is not base64url");
            if (!root.TryGetProperty(SignaturesMember, out var signatures) || signatures.ValueKind != JsonValueKind.Array || signatures.GetArrayLength() == 0)
                throw new FormatException("JWS JSON has no non-empty 'signatures' array");
            var parts = new List<JwsParts>();
            foreach (var entry in signatures.EnumerateArray())
            {
                var what = $"JWS JSON signature {parts.Count}";
                if (entry.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"{what} is not an object");
                foreach (var member in entry.EnumerateObject())
                {
                    if (member.Name is not (ProtectedMember or SignatureMember))
                        throw new FormatException($"{what} has member '{member.Name}'; every header member must be protected");
                }
                var protectedText = String(entry, ProtectedMember, what);
                var (alg, kid, typ) = Jws.ParseHeader(Base64UrlText.Decode(protectedText, $"{what} protected header is not base64url"));
                var signature = Base64UrlText.Decode(String(entry, SignatureMember, what), $"{what} is not base64url");
                parts.Add(new JwsParts(alg, kid, typ, payload, signature, Encoding.ASCII.GetBytes(protectedText + "." + payloadText)));
            }
            return parts;
        }
        catch (JsonException e)
        {
            throw new FormatException($"JWS JSON is not JSON: {e.Message}");
        }
    }

    /// <summary>
    /// Adds a signature by <paramref name="signer"/> over the payload of <paramref name="jws"/> (compact or JSON) and
    /// returns the JWS JSON holding the existing signatures unchanged, then the new one.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="jws"/> is not a JWS.</exception>
    public static string AddSignature(string jws, IPayloadSigner signer, string type)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var existing = ParseSignatures(jws);
        // The payload as the existing signatures cover it, not re-encoded.
        var firstInput = Encoding.ASCII.GetString(existing[0].SigningInput);
        var payloadText = firstInput[(firstInput.IndexOf('.', StringComparison.Ordinal) + 1)..];
        var signingInput = Jws.EncodeHeader(signer, type) + "." + payloadText;
        var added = new JwsParts(signer.Algorithm, signer.KeyId, type, existing[0].Payload, signer.Sign(Encoding.ASCII.GetBytes(signingInput)),
            Encoding.ASCII.GetBytes(signingInput));
        return Serialize(payloadText, [.. existing, added]);
    }

    private static string Serialize(string payloadText, IEnumerable<JwsParts> signatures)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString(PayloadMember, payloadText);
            w.WriteStartArray(SignaturesMember);
            foreach (var s in signatures)
            {
                var input = Encoding.ASCII.GetString(s.SigningInput);
                w.WriteStartObject();
                w.WriteString(ProtectedMember, input[..input.IndexOf('.', StringComparison.Ordinal)]);
                w.WriteString(SignatureMember, Base64UrlText.Encode(s.Signature));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.ASCII.GetString(buffer.ToArray());
    }

    private static string String(JsonElement element, string name, string what) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException($"{what} has no string '{name}'");
}
