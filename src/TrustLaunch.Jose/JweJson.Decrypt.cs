using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TrustLaunch.Jose;

public static partial class JweJson
{
    /// <summary>Decrypts a general or flattened JWE with <paramref name="key"/>.</summary>
    /// <exception cref="FormatException">The JWE is malformed or uses algorithms not supported here.</exception>
    /// <exception cref="CryptographicException">No recipient opens with this key (or its wrapped key was modified),
    /// or the authentication tag does not match (ciphertext, tag, IV, protected header or AAD modified).</exception>
    public static byte[] Decrypt(ReadOnlySpan<byte> jweJson, JweDecryptionKey key) =>
        TryDecrypt(jweJson, key) ?? throw new CryptographicException("JWE does not open with this key: not addressed to it, or its encrypted_key was modified");

    /// <summary>Tries each recipient the key fits; returns the plaintext, or null when none unwraps with this key.</summary>
    /// <exception cref="FormatException">The JWE is malformed or uses algorithms not supported here.</exception>
    /// <exception cref="CryptographicException">A recipient opened but the authentication tag does not match.</exception>
    public static byte[]? TryDecrypt(ReadOnlySpan<byte> jweJson, JweDecryptionKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var doc = ParseDocument(jweJson);
        var root = doc.RootElement;
        var protectedB64 = root.TryGetProperty("protected", out var p) ? StringValue(p, "protected") : "";
        using var protectedHeader = protectedB64.Length == 0 ? null : ParseDocument(Base64UrlText.Decode(protectedB64, "JWE member 'protected' is not base64url"));
        var iv = Member(root, "iv");
        var ciphertext = Member(root, "ciphertext");
        var tag = Member(root, "tag");
        if (iv.Length != 12 || tag.Length != 16)
            throw new FormatException($"JWE 'iv' of {iv.Length} bytes or 'tag' of {tag.Length} bytes is not the 12 and 16 A256GCM uses");
        var aad = root.TryGetProperty("aad", out var aadElement) ? protectedB64 + "." + StringValue(aadElement, "aad") : protectedB64;
        var shared = root.TryGetProperty("unprotected", out var u) ? u : default;

        var recipients = root.TryGetProperty("recipients", out var list)
            ? list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : throw new FormatException("JWE 'recipients' is not an array")
            : [root];
        foreach (var recipient in recipients)
        {
            var header = recipient.TryGetProperty("header", out var h) ? h : default;
            JsonElement?[] headers = [protectedHeader?.RootElement, shared, header];
            var enc = HeaderString("enc", headers);
            if (enc != A256Gcm)
                throw new FormatException($"JWE content encryption '{enc}' is not A256GCM");
            if (HeaderString("zip", headers) is { } zip)
                throw new FormatException($"JWE compression '{zip}' is not supported");
            if (HeaderElement("crit", headers) is not null)
                throw new FormatException("JWE header has 'crit' extensions, none are understood");
            var alg = HeaderString("alg", headers) ?? throw new FormatException("JWE recipient has no 'alg'");
            var encryptedKey = recipient.TryGetProperty("encrypted_key", out var ek)
                ? Base64UrlText.Decode(StringValue(ek, "encrypted_key"), "JWE member 'encrypted_key' is not base64url")
                : [];
            var cek = JweKeyManagement.TryUnwrap(key, alg, encryptedKey, HeaderElement("epk", headers), HeaderString("apu", headers), HeaderString("apv", headers));
            if (cek is null)
                continue;
            try
            {
                if (cek.Length != 32)
                    continue;
                var plaintext = new byte[ciphertext.Length];
                using var gcm = new AesGcm(cek, 16);
                try
                {
                    gcm.Decrypt(iv, ciphertext, tag, plaintext, Encoding.ASCII.GetBytes(aad));
                }
                catch (CryptographicException)
                {
                    // The content key unwrapped (RSA-OAEP and AES-KW check their own integrity), so the content
                    // or what the tag covers was modified.
                    throw new CryptographicException("JWE authentication tag mismatch: the ciphertext, tag, IV or protected header was modified");
                }
                return plaintext;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(cek);
            }
        }
        return null;
    }

    private static string? HeaderString(string name, JsonElement?[] headers) =>
        HeaderElement(name, headers) is { } e ? e.ValueKind == JsonValueKind.String ? e.GetString() : throw new FormatException($"JWE header '{name}' is not a string") : null;

    private static JsonElement? HeaderElement(string name, JsonElement?[] headers)
    {
        JsonElement? found = null;
        foreach (var h in headers)
        {
            if (h is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v))
            {
                // RFC 7516 §7.2.1: the header sets must be disjoint.
                if (found is not null)
                    throw new FormatException($"JWE header '{name}' appears in more than one header set");
                found = v;
            }
        }
        return found;
    }

    private static JsonDocument ParseDocument(ReadOnlySpan<byte> json)
    {
        try
        {
            var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                return doc;
            doc.Dispose();
            throw new FormatException("JWE is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"JWE is not JSON: {e.Message}");
        }
    }

    private static byte[] Member(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? Base64UrlText.Decode(v.GetString()!, $"JWE member '{name}' is not base64url")
            : throw new FormatException($"JWE member '{name}' is missing or not a string");

    private static string StringValue(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"JWE member '{name}' is not a string");
}
