using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Secrets;

public sealed partial class SealedSecret
{
    /// <summary>Seals a vault secret: the value is the broker resource <paramref name="resourceUri"/>.</summary>
    public static string SealVault(string resourceUri, IPayloadSigner signer, string kid) =>
        Sign(ValidPayload(new VaultSecret(resourceUri)), signer, kid);

    /// <summary>Seals <paramref name="value"/> in an envelope: a fresh random data key encrypts it (AES-256-GCM, random
    /// iv) and is wrapped under <paramref name="kek"/>, the 32-byte resource <paramref name="keyId"/> of the broker.</summary>
    public static string SealEnvelope(ReadOnlySpan<byte> value, ReadOnlySpan<byte> kek, string keyId, IPayloadSigner signer, string kid)
    {
        if (kek.Length != KeySize)
            throw new ArgumentException($"the KEK is {kek.Length} bytes, expected {KeySize}", nameof(kek));
        var dataKey = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            var iv = RandomNumberGenerator.GetBytes(IvSize);
            var encrypted = new byte[value.Length + TagSize];
            using (var gcm = new AesGcm(dataKey, TagSize))
                gcm.Encrypt(iv, value, encrypted.AsSpan(0, value.Length), encrypted.AsSpan(value.Length));
            return Sign(ValidPayload(new EnvelopeSecret(keyId, AesKeyWrap.Wrap(kek, dataKey), encrypted, iv)), signer, kid);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static SealedSecretPayload ValidPayload(SealedSecretPayload payload)
    {
        // What this writes must be what Open reads back.
        var json = PayloadJson(payload);
        SealedSecretPayload.Parse(json);
        return payload;
    }

    private static string Sign(SealedSecretPayload payload, IPayloadSigner signer, string kid)
    {
        if (signer.Algorithm != JwsAlgorithms.ES256)
            throw new SealedSecretException($"sealed secrets are signed ES256; this key signs {signer.Algorithm}");
        if (!IsKid(kid))
            throw new SealedSecretException($"kid '{kid}' is not {KidRule}");
        var text = Prefix + Jws.SignCompact(PayloadJson(payload), signer, type: null, kid);
        if (text.Length > MaxLength)
            throw new SealedSecretException($"sealed secret is over {MaxLength} characters");
        return text;
    }

    private static byte[] PayloadJson(SealedSecretPayload payload)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            payload.Write(w);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
