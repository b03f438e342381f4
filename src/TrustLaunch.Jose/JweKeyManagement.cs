using System.Security.Cryptography;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>The JWE key management algorithms (RFC 7518 §4.3, §4.6): RSA-OAEP, RSA-OAEP-256, ECDH-ES+A256KW
/// (ephemeral-static ECDH, Concat KDF, RFC 3394 key wrap).</summary>
internal static class JweKeyManagement
{
    /// <summary>The content key wrapped for one recipient, and the ephemeral public key for ECDH-ES.</summary>
    public sealed record WrappedKey(byte[] EncryptedKey, Jwk? EphemeralKey);

    public static WrappedKey Wrap(Jwk recipient, string algorithm, ReadOnlySpan<byte> cek)
    {
        switch (algorithm)
        {
            case JweJson.RsaOaep or JweJson.RsaOaep256:
                if (recipient.KeyType != Jwk.Rsa)
                    throw new ArgumentException($"'{algorithm}' needs an RSA key, the recipient is {recipient.KeyType}", nameof(recipient));
                using (var rsa = recipient.ToRsa())
                    return new WrappedKey(rsa.Encrypt(cek.ToArray(), Padding(algorithm)), null);
            case JweJson.EcdhEsA256Kw:
                if (recipient.KeyType != Jwk.Ec)
                    throw new ArgumentException($"'{algorithm}' needs an EC key, the recipient is {recipient.KeyType}", nameof(recipient));
                var parameters = recipient.ToEcParameters();
                using (var ephemeral = ECDiffieHellman.Create(parameters.Curve))
                using (var peer = ECDiffieHellman.Create(parameters))
                {
                    var z = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
                    var kek = ConcatKdf.DeriveKey(z, algorithm, [], [], 256);
                    try
                    {
                        return new WrappedKey(AesKeyWrap.Wrap(kek, cek), Jwk.FromPublicKey(ephemeral));
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(z);
                        CryptographicOperations.ZeroMemory(kek);
                    }
                }
            default:
                throw new ArgumentException($"JWE key management '{algorithm}' is not RSA-OAEP, RSA-OAEP-256 or ECDH-ES+A256KW", nameof(algorithm));
        }
    }

    /// <summary>The content key, or null when <paramref name="key"/> is not the recipient (or the wrapped key was
    /// modified: the two cannot be told apart).</summary>
    /// <exception cref="FormatException">The header members the algorithm needs are malformed.</exception>
    public static byte[]? TryUnwrap(JweDecryptionKey key, string algorithm, byte[] encryptedKey, JsonElement? epk, string? apu, string? apv) => algorithm switch
    {
        JweJson.RsaOaep or JweJson.RsaOaep256 => key.Rsa is null ? null : TryRsa(key.Rsa, encryptedKey, algorithm),
        JweJson.EcdhEsA256Kw => key.Ecdh is null ? null : TryEcdh(key.Ecdh, encryptedKey, epk, apu, apv),
        _ => null,
    };

    private static RSAEncryptionPadding Padding(string algorithm) =>
        algorithm == JweJson.RsaOaep ? RSAEncryptionPadding.OaepSHA1 : RSAEncryptionPadding.OaepSHA256;

    private static byte[]? TryRsa(RSA rsa, byte[] encryptedKey, string algorithm)
    {
        try
        {
            return rsa.Decrypt(encryptedKey, Padding(algorithm));
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
        Jwk peerKey;
        try
        {
            peerKey = Jwk.Parse(e);
        }
        catch (FormatException x)
        {
            throw new FormatException($"ECDH-ES 'epk': {x.Message}");
        }
        if (peerKey.KeyType != Jwk.Ec)
            throw new FormatException("ECDH-ES 'epk' is not an EC key");
        if (JwkCurves.Name(ours.ExportParameters(false).Curve) != peerKey.Curve)
            return null;
        using var peer = ECDiffieHellman.Create(peerKey.ToEcParameters());
        var z = ours.DeriveRawSecretAgreement(peer.PublicKey);
        var kek = ConcatKdf.DeriveKey(z, JweJson.EcdhEsA256Kw,
            apu is null ? [] : Base64UrlText.Decode(apu, "JWE header 'apu' is not base64url"),
            apv is null ? [] : Base64UrlText.Decode(apv, "JWE header 'apv' is not base64url"), 256);
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
}
