using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Crypt;

/// <summary>
/// ocicrypt layer encryption (<c>AES_256_CTR_HMAC_SHA256</c>, keys wrapped as JWE), compatible with skopeo 1.9 /
/// containers/ocicrypt. Layer descriptor annotations: <see cref="KeysJweAnnotation"/> = comma-separated standard
/// base64 of JWE JSON serializations whose plaintext is the private options
/// <c>{"symkey":b64,"digest":"sha256:…","cipheroptions":{"nonce":b64}}</c>; <see cref="PubOptsAnnotation"/> = base64
/// <c>{"cipher":"AES_256_CTR_HMAC_SHA256","hmac":b64,"cipheroptions":{}}</c>. The cipher is AES-256-CTR with the nonce
/// as the first counter block, and HMAC-SHA256 (same key) over the whole ciphertext.
/// </summary>
public static partial class Ocicrypt
{
    public const string KeysJweAnnotation = "org.opencontainers.image.enc.keys.jwe";
    public const string PubOptsAnnotation = "org.opencontainers.image.enc.pubopts";
    public const string Cipher = "AES_256_CTR_HMAC_SHA256";
    private const int MaxAnnotationLength = 1 << 20;

    /// <summary>
    /// Unwraps the layer key with the first of <paramref name="keys"/> that fits a JWE recipient and opens the
    /// plaintext stream. Read it to the end before committing anything: see <see cref="DecryptingStream"/>.
    /// </summary>
    /// <exception cref="CryptographicException">No key fits: "layer D: none of the N decryption key(s) (FILES) can
    /// unwrap any of its M JWE recipient(s)"; or annotations missing or malformed.</exception>
    public static DecryptingStream Decrypt(OciDescriptor encryptedLayer, Stream ciphertext, IReadOnlyList<DecryptionKey> keys, bool leaveOpen = false)
    {
        return Open(encryptedLayer, ciphertext, UnwrapKey(encryptedLayer, keys), leaveOpen);
    }

    /// <summary>The plaintext stream under <paramref name="opts"/>' key, which is wiped here once the stream holds it.</summary>
    private static DecryptingStream Open(OciDescriptor encryptedLayer, Stream ciphertext, LayerKey opts, bool leaveOpen)
    {
        try
        {
            return new DecryptingStream(ciphertext, opts.SymKey, opts.Nonce, opts.Hmac, encryptedLayer.Digest.ToString(), leaveOpen);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(opts.SymKey);
        }
    }

    /// <summary>The descriptor of the decrypted layer: media type without <c>+encrypted</c>, the plaintext digest
    /// from the private options, enc annotations dropped. The size is unknown until decrypted (-1 here).</summary>
    public static OciDescriptor DecryptedDescriptor(OciDescriptor encryptedLayer, IReadOnlyList<DecryptionKey> keys)
    {
        var opts = UnwrapKey(encryptedLayer, keys);
        CryptographicOperations.ZeroMemory(opts.SymKey);
        return PlainDescriptor(encryptedLayer, opts);
    }

    private static OciDescriptor PlainDescriptor(OciDescriptor encryptedLayer, LayerKey opts)
    {
        return encryptedLayer with
        {
            MediaType = encryptedLayer.MediaType[..^MediaTypes.EncryptedSuffix.Length],
            Digest = opts.PlainDigest ?? throw new CryptographicException($"layer {encryptedLayer.Digest}: private options carry no digest"),
            Size = -1,
            Annotations = WithoutEncAnnotations(encryptedLayer.Annotations),
        };
    }

    internal sealed record LayerKey(byte[] SymKey, byte[] Nonce, byte[] Hmac, Digest? PlainDigest);

    internal static LayerKey UnwrapKey(OciDescriptor layer, IReadOnlyList<DecryptionKey> keys) =>
        UnwrapJwe(layer, ReadPublicOptions(layer), keys);

    /// <summary>Checks the layer is encrypted with <see cref="Cipher"/> and returns the HMAC from its public options.</summary>
    private static byte[] ReadPublicOptions(OciDescriptor layer)
    {
        if (!MediaTypes.IsEncrypted(layer.MediaType))
            throw new CryptographicException($"layer {layer.Digest}: media type '{layer.MediaType}' is not an encrypted layer");
        var annotations = layer.Annotations ?? new Dictionary<string, string>();
        if (!annotations.TryGetValue(PubOptsAnnotation, out var pubB64))
            throw new CryptographicException($"layer {layer.Digest}: annotation {PubOptsAnnotation} is missing");
        if (annotations.Where(a => a.Key.StartsWith("org.opencontainers.image.enc.", StringComparison.Ordinal)).Any(a => a.Value.Length > MaxAnnotationLength))
            throw new CryptographicException($"layer {layer.Digest}: encryption annotations are larger than {MaxAnnotationLength} bytes");

        byte[] hmac;
        try
        {
            using var pub = JsonDocument.Parse(Convert.FromBase64String(pubB64));
            var cipher = pub.RootElement.GetProperty("cipher").GetString();
            if (cipher != Cipher)
                throw new CryptographicException($"layer {layer.Digest}: cipher '{cipher}' is not {Cipher}");
            hmac = pub.RootElement.GetProperty("hmac").GetBytesFromBase64();
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CryptographicException($"layer {layer.Digest}: annotation {PubOptsAnnotation} is malformed: {e.Message}");
        }
        if (hmac.Length != 32)
            throw new CryptographicException($"layer {layer.Digest}: pubopts hmac is {hmac.Length} bytes, expected 32");
        return hmac;
    }

    private static LayerKey UnwrapJwe(OciDescriptor layer, byte[] hmac, IReadOnlyList<DecryptionKey> keys)
    {
        var annotations = layer.Annotations ?? new Dictionary<string, string>();
        if (!annotations.TryGetValue(KeysJweAnnotation, out var jwes) || jwes.Length == 0)
        {
            throw new CryptographicException(annotations.ContainsKey(KeyProviderPacket.Annotation)
                ? $"layer {layer.Digest}: its key is wrapped only for key provider {KeyProviderPacket.ProviderName}: it is unwrapped through the key broker"
                : $"layer {layer.Digest}: annotation {KeysJweAnnotation} is missing (other key wrappers — pkcs7, pgp, other providers — are not supported here)");
        }
        var entries = jwes.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var recipientCount = 0;
        foreach (var entry in entries)
        {
            byte[] jwe;
            try
            {
                jwe = Convert.FromBase64String(entry);
                recipientCount += CountRecipients(jwe);
            }
            catch (FormatException e)
            {
                throw new CryptographicException($"layer {layer.Digest}: {KeysJweAnnotation} entry is malformed: {e.Message}");
            }
            foreach (var key in keys)
            {
                byte[]? plain;
                try
                {
                    plain = JweJson.TryDecrypt(jwe, key.Key);
                }
                catch (FormatException e)
                {
                    throw new CryptographicException($"layer {layer.Digest}: wrapped key is malformed: {e.Message}");
                }
                if (plain is null)
                    continue;
                try
                {
                    return ParsePrivateOptions(plain, hmac, layer.Digest);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plain);
                }
            }
        }
        throw new CryptographicException(
            $"layer {layer.Digest}: none of the {keys.Count} decryption key(s) ({string.Join(", ", keys.Select(k => k.Source))}) can unwrap any of its {recipientCount} JWE recipient(s)");
    }

    private static int CountRecipients(byte[] jwe)
    {
        try
        {
            using var doc = JsonDocument.Parse(jwe);
            return doc.RootElement.TryGetProperty("recipients", out var r) && r.ValueKind == JsonValueKind.Array ? r.GetArrayLength() : 1;
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}");
        }
    }

    private static LayerKey ParsePrivateOptions(byte[] json, byte[] hmac, Digest layer)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var symkey = root.GetProperty("symkey").GetBytesFromBase64();
            var nonce = root.GetProperty("cipheroptions").GetProperty("nonce").GetBytesFromBase64();
            Digest? digest = root.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String && Digest.TryParse(d.GetString(), out var parsed, out _) ? parsed : null;
            if (symkey.Length != 32 || nonce.Length != 16)
                throw new CryptographicException($"layer {layer}: private options have a {symkey.Length}-byte key and {nonce.Length}-byte nonce, expected 32 and 16");
            return new LayerKey(symkey, nonce, hmac, digest);
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CryptographicException($"layer {layer}: unwrapped private options are malformed: {e.GetType().Name}");
        }
    }

    /// <summary>
    /// Encrypts a layer blob for <paramref name="recipients"/> into <paramref name="destination"/> and returns the
    /// encrypted layer's descriptor (media type + <c>+encrypted</c>, ciphertext digest and size, the two
    /// annotations). One JWE holds all recipients, as skopeo writes it.
    /// </summary>
    public static Task<OciDescriptor> EncryptAsync(OciDescriptor plainLayer, Stream plaintext, Stream destination,
        IReadOnlyList<EncryptionRecipient> recipients, CancellationToken cancellationToken = default) =>
        EncryptAsync(plainLayer, plaintext, destination, recipients, [], cancellationToken);

    /// <summary>
    /// As above, and the layer key is also wrapped for each of <paramref name="providers"/> into the
    /// <see cref="KeyProviderPacket.Annotation"/> annotation (comma-separated base64 packets, as ocicrypt writes a
    /// provider's answers). Either list may be empty, not both.
    /// </summary>
    public static async Task<OciDescriptor> EncryptAsync(OciDescriptor plainLayer, Stream plaintext, Stream destination,
        IReadOnlyList<EncryptionRecipient> recipients, IReadOnlyList<ProviderRecipient> providers, CancellationToken cancellationToken = default)
    {
        if (MediaTypes.IsEncrypted(plainLayer.MediaType))
            throw new ArgumentException($"layer {plainLayer.Digest} is already encrypted", nameof(plainLayer));
        if (recipients.Count == 0 && providers.Count == 0)
            throw new ArgumentException("at least one recipient is needed", nameof(recipients));
        var key = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(16);
        try
        {
            using var ctr = new AesCtr(key, nonce);
            using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long size = 0;
            int n;
            while ((n = await plaintext.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                ctr.Transform(buffer.AsSpan(0, n));
                hmac.AppendData(buffer, 0, n);
                digest.AppendData(buffer, 0, n);
                await destination.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                size += n;
            }
            var pubOptions = $$$"""{"cipher":"{{{Cipher}}}","hmac":"{{{Convert.ToBase64String(hmac.GetHashAndReset())}}}","cipheroptions":{}}""";
            var annotations = new Dictionary<string, string>(WithoutEncAnnotations(plainLayer.Annotations) ?? new Dictionary<string, string>())
            {
                [PubOptsAnnotation] = Convert.ToBase64String(Encoding.UTF8.GetBytes(pubOptions)),
            };
            var privateBuffer = new byte[512];
            try
            {
                var privateOptions = privateBuffer.AsSpan(0, WritePrivateOptions(privateBuffer, key, nonce, plainLayer.Digest));
                if (recipients.Count > 0)
                    annotations[KeysJweAnnotation] = Convert.ToBase64String(JweJson.Encrypt(privateOptions, recipients.Select(r => r.Key).ToList()));
                if (providers.Count > 0)
                    annotations[KeyProviderPacket.Annotation] = WrapForProviders(privateOptions, providers);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(privateBuffer);
            }
            return plainLayer with
            {
                MediaType = plainLayer.MediaType + MediaTypes.EncryptedSuffix,
                Digest = Digest.FromHash("sha256", digest.GetHashAndReset()),
                Size = size,
                Annotations = annotations,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Writes <c>{"symkey":b64,"digest":D,"cipheroptions":{"nonce":b64}}</c> into a caller-owned buffer
    /// (not a string or a writer's pooled buffer) so the key's base64 can be wiped afterwards.</summary>
    private static int WritePrivateOptions(Span<byte> buffer, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, Digest digest)
    {
        var pos = 0;
        Append("{\"symkey\":\""u8, buffer, ref pos);
        System.Buffers.Text.Base64.EncodeToUtf8(key, buffer[pos..], out _, out var written);
        pos += written;
        Append("\",\"digest\":\""u8, buffer, ref pos);
        Append(Encoding.ASCII.GetBytes(digest.ToString()), buffer, ref pos);
        Append("\",\"cipheroptions\":{\"nonce\":\""u8, buffer, ref pos);
        System.Buffers.Text.Base64.EncodeToUtf8(nonce, buffer[pos..], out _, out written);
        pos += written;
        Append("\"}}"u8, buffer, ref pos);
        return pos;

        static void Append(ReadOnlySpan<byte> text, Span<byte> buffer, ref int pos)
        {
            text.CopyTo(buffer[pos..]);
            pos += text.Length;
        }
    }

    private static Dictionary<string, string>? WithoutEncAnnotations(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null)
            return null;
        var kept = annotations.Where(a => !a.Key.StartsWith("org.opencontainers.image.enc.", StringComparison.Ordinal)).ToDictionary();
        return kept.Count == 0 ? null : kept;
    }
}
