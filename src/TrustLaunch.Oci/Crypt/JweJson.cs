using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Crypt;

/// <summary>
/// JWE JSON serialization (RFC 7516 §7.2, general and flattened) as ocicrypt's JWE key wrapper (go-jose) writes it:
/// protected header <c>{"enc":"A256GCM"}</c>, one recipient per key with <c>alg</c> <c>RSA-OAEP</c> /
/// <c>RSA-OAEP-256</c> or <c>ECDH-ES+A256KW</c> (+ <c>epk</c>). Written here on System.Security.Cryptography
/// because JOSE libraries for .NET use reflection-based JSON or are not trimming-safe, and the CLI is Native AOT;
/// the pieces .NET lacks (Concat KDF, RFC 3394 key wrap) are small.
/// </summary>
public static class JweJson
{
    public const string RsaOaep = "RSA-OAEP";
    public const string RsaOaep256 = "RSA-OAEP-256";
    public const string EcdhEsA256Kw = "ECDH-ES+A256KW";
    public const string A256Gcm = "A256GCM";

    /// <summary>Encrypts <paramref name="plaintext"/> to every recipient (RSA keys get <paramref name="rsaAlgorithm"/>,
    /// EC keys ECDH-ES+A256KW).</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, IReadOnlyList<EncryptionRecipient> recipients, string rsaAlgorithm = RsaOaep)
    {
        if (recipients.Count == 0)
            throw new ArgumentException("at least one recipient is needed", nameof(recipients));
        if (rsaAlgorithm is not (RsaOaep or RsaOaep256))
            throw new ArgumentException($"RSA key management '{rsaAlgorithm}' is not RSA-OAEP or RSA-OAEP-256", nameof(rsaAlgorithm));
        var cek = RandomNumberGenerator.GetBytes(32);
        try
        {
            var protectedB64 = Base64Url.EncodeToString("{\"enc\":\"A256GCM\"}"u8);
            var iv = RandomNumberGenerator.GetBytes(12);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[16];
            using (var gcm = new AesGcm(cek, 16))
                gcm.Encrypt(iv, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(protectedB64));

            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("protected", protectedB64);
                w.WriteStartArray("recipients");
                foreach (var r in recipients)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("header");
                    if (r.Rsa is { } rsa)
                    {
                        w.WriteString("alg", rsaAlgorithm);
                        w.WriteEndObject();
                        var padding = rsaAlgorithm == RsaOaep ? RSAEncryptionPadding.OaepSHA1 : RSAEncryptionPadding.OaepSHA256;
                        w.WriteString("encrypted_key", Base64Url.EncodeToString(rsa.Encrypt(cek, padding)));
                    }
                    else
                    {
                        var recipient = r.EcPublic!.Value;
                        using var ephemeral = ECDiffieHellman.Create(recipient.Curve);
                        using var peer = ECDiffieHellman.Create(recipient);
                        var z = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
                        var kek = ConcatKdf(z, EcdhEsA256Kw, [], []);
                        var epk = ephemeral.ExportParameters(false);
                        w.WriteString("alg", EcdhEsA256Kw);
                        w.WriteStartObject("epk");
                        w.WriteString("kty", "EC");
                        w.WriteString("crv", PemKeys.CurveName(recipient.Curve));
                        w.WriteString("x", Base64Url.EncodeToString(epk.Q.X));
                        w.WriteString("y", Base64Url.EncodeToString(epk.Q.Y));
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteString("encrypted_key", Base64Url.EncodeToString(AesKeyWrap.Wrap(kek, cek)));
                        CryptographicOperations.ZeroMemory(z);
                        CryptographicOperations.ZeroMemory(kek);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("iv", Base64Url.EncodeToString(iv));
                w.WriteString("ciphertext", Base64Url.EncodeToString(ciphertext));
                w.WriteString("tag", Base64Url.EncodeToString(tag));
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    /// <summary>Tries each recipient the key fits; returns the plaintext, or null when none unwraps with this key.</summary>
    /// <exception cref="FormatException">The JWE is malformed or uses algorithms not supported here.</exception>
    public static byte[]? TryDecrypt(ReadOnlySpan<byte> jweJson, DecryptionKey key)
    {
        using var doc = ParseDocument(jweJson);
        var root = doc.RootElement;
        var protectedB64 = root.TryGetProperty("protected", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
        using var protectedHeader = protectedB64.Length == 0 ? null : ParseDocument(DecodeB64Url(protectedB64, "protected"));
        var iv = DecodeB64Url(RequiredString(root, "iv"), "iv");
        var ciphertext = DecodeB64Url(RequiredString(root, "ciphertext"), "ciphertext");
        var tag = DecodeB64Url(RequiredString(root, "tag"), "tag");
        var aad = root.TryGetProperty("aad", out var aadElement) ? protectedB64 + "." + aadElement.GetString() : protectedB64;
        var shared = root.TryGetProperty("unprotected", out var u) ? u : default;

        var recipients = root.TryGetProperty("recipients", out var list)
            ? list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : throw new FormatException("JWE 'recipients' is not an array")
            : [root];
        foreach (var recipient in recipients)
        {
            var header = recipient.TryGetProperty("header", out var h) ? h : default;
            var enc = HeaderString("enc", protectedHeader?.RootElement, shared, header);
            if (enc != A256Gcm)
                throw new FormatException($"JWE content encryption '{enc}' is not A256GCM");
            if (HeaderString("zip", protectedHeader?.RootElement, shared, header) is { } zip)
                throw new FormatException($"JWE compression '{zip}' is not supported");
            var alg = HeaderString("alg", protectedHeader?.RootElement, shared, header)
                ?? throw new FormatException("JWE recipient has no 'alg'");
            var encryptedKey = recipient.TryGetProperty("encrypted_key", out var ek) ? DecodeB64Url(ek.GetString() ?? "", "encrypted_key") : [];
            var cek = alg switch
            {
                RsaOaep or RsaOaep256 => key.Rsa is null ? null : TryRsa(key.Rsa, encryptedKey, alg),
                EcdhEsA256Kw => key.Ecdh is null ? null : TryEcdh(key.Ecdh, encryptedKey, HeaderElement("epk", protectedHeader?.RootElement, shared, header),
                    HeaderString("apu", protectedHeader?.RootElement, shared, header), HeaderString("apv", protectedHeader?.RootElement, shared, header)),
                _ => null,
            };
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
                    // RSA-OAEP can "succeed" with a wrong key only with negligible probability; a tag failure
                    // here means the JWE itself was modified.
                    throw new CryptographicException("JWE authentication tag mismatch: the wrapped key was modified");
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

    private static byte[]? TryRsa(RSA rsa, byte[] encryptedKey, string alg)
    {
        try
        {
            return rsa.Decrypt(encryptedKey, alg == RsaOaep ? RSAEncryptionPadding.OaepSHA1 : RSAEncryptionPadding.OaepSHA256);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static byte[]? TryEcdh(ECDiffieHellman ours, byte[] encryptedKey, JsonElement? epk, string? apu, string? apv)
    {
        if (epk is not { ValueKind: JsonValueKind.Object } e)
            throw new FormatException("ECDH-ES recipient has no 'epk' object");
        if (RequiredString(e, "kty") != "EC")
            throw new FormatException("ECDH-ES 'epk' is not an EC key");
        var curve = PemKeys.CurveFromName(RequiredString(e, "crv"));
        var ourParameters = ours.ExportParameters(false);
        if (PemKeys.CurveName(ourParameters.Curve) != RequiredString(e, "crv"))
            return null;
        byte[] z;
        try
        {
            using var peer = ECDiffieHellman.Create(new ECParameters
            {
                Curve = curve,
                Q = new ECPoint { X = DecodeB64Url(RequiredString(e, "x"), "epk.x"), Y = DecodeB64Url(RequiredString(e, "y"), "epk.y") },
            });
            z = ours.DeriveRawSecretAgreement(peer.PublicKey);
        }
        catch (CryptographicException)
        {
            throw new FormatException("ECDH-ES 'epk' is not a valid point on its curve");
        }
        var kek = ConcatKdf(z, EcdhEsA256Kw, apu is null ? [] : DecodeB64Url(apu, "apu"), apv is null ? [] : DecodeB64Url(apv, "apv"));
        try
        {
            return AesKeyWrap.Unwrap(kek, encryptedKey);
        }
        catch (CryptographicException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(z);
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) with SHA-256 for a 256-bit key: one round,
    /// SHA-256(u32 1 || Z || len(alg) alg || len(apu) apu || len(apv) apv || u32 256).</summary>
    internal static byte[] ConcatKdf(ReadOnlySpan<byte> z, string algorithm, ReadOnlySpan<byte> apu, ReadOnlySpan<byte> apv)
    {
        var alg = Encoding.ASCII.GetBytes(algorithm);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, 1);
        hash.AppendData(u32);
        hash.AppendData(z);
        AppendWithLength(hash, alg, u32);
        AppendWithLength(hash, apu, u32);
        AppendWithLength(hash, apv, u32);
        BinaryPrimitives.WriteUInt32BigEndian(u32, 256);
        hash.AppendData(u32);
        return hash.GetHashAndReset();

        static void AppendWithLength(IncrementalHash hash, ReadOnlySpan<byte> part, Span<byte> u32)
        {
            BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)part.Length);
            hash.AppendData(u32);
            hash.AppendData(part);
        }
    }

    private static string? HeaderString(string name, params JsonElement?[] headers) =>
        HeaderElement(name, headers) is { } e ? e.ValueKind == JsonValueKind.String ? e.GetString() : throw new FormatException($"JWE header '{name}' is not a string") : null;

    private static JsonElement? HeaderElement(string name, params JsonElement?[] headers)
    {
        foreach (var h in headers)
        {
            if (h is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v))
                return v;
        }
        return null;
    }

    private static JsonDocument ParseDocument(ReadOnlySpan<byte> json)
    {
        try
        {
            var doc = JsonDocument.Parse(json.ToArray());
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

    private static string RequiredString(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"JWE member '{name}' is missing or not a string");

    private static byte[] DecodeB64Url(string text, string what)
    {
        try
        {
            return Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            throw new FormatException($"JWE member '{what}' is not base64url");
        }
    }
}
