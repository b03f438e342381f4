using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace TrustLaunch.Oci.Policy;

/// <summary>A signature accepted by a key: who signed (the key's fingerprint) and what the payload says.</summary>
public sealed record VerifiedSignature(string Signer, SimpleSigningPayload Payload);

/// <summary>
/// Simple signing with OpenPGP as skopeo and podman make it (gpgme's normal signing mode): an OpenPGP message —
/// compressed or not — of a one-pass signature, a literal data packet holding the payload, and the signature. Read
/// and written with BouncyCastle, no gpg process. RSA, EdDSA (ed25519) and ECDSA keys, as BouncyCastle supports them.
/// </summary>
public static class OpenPgpSignatures
{
    /// <summary>Largest signature accepted, as containers/image limits them.</summary>
    public const int MaxSignatureBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The payload of <paramref name="signature"/> when it is validly signed by a key of one of <paramref name="keyrings"/>
    /// (not revoked, not expired when it signed); throws <see cref="FormatException"/> saying why not.
    /// </summary>
    public static VerifiedSignature Verify(ReadOnlySpan<byte> signature, IReadOnlyList<byte[]> keyrings)
    {
        if (signature.Length > MaxSignatureBytes)
            throw new FormatException($"signature of {signature.Length} bytes is more than the {MaxSignatureBytes} allowed");
        try
        {
            var (onePass, payload, signatures) = ReadMessage(signature.ToArray());
            var key = FindKey(keyrings, onePass.KeyId)
                      ?? throw new FormatException($"signed by key {onePass.KeyId:X16}, which is not among the trusted keys");
            var sig = signatures.Count == 1 ? signatures[0] : throw new FormatException($"signature message holds {signatures.Count} signatures, expected 1");
            if (sig.KeyId != onePass.KeyId)
                throw new FormatException("the signature and its one-pass header name different keys");
            onePass.InitVerify(key);
            onePass.Update(payload);
            if (!onePass.Verify(sig))
                throw new FormatException($"signature by key {onePass.KeyId:X16} is invalid");
            if (key.HasRevocation())
                throw new FormatException($"key {Fingerprint(key)} is revoked");
            var valid = key.GetValidSeconds();
            if (valid > 0 && sig.CreationTime > key.CreationTime.AddSeconds(valid))
                throw new FormatException($"key {Fingerprint(key)} had expired when it signed ({sig.CreationTime:u})");
            return new VerifiedSignature(Fingerprint(key), SimpleSigningPayload.Parse(payload, SimpleSigningPayload.AtomicType));
        }
        catch (Exception e) when (e is PgpException or IOException or InvalidCastException)
        {
            throw new FormatException($"not an OpenPGP signed message: {e.Message}");
        }
    }

    /// <summary>Signs <paramref name="payload"/> with the first signing-capable secret key of <paramref name="secretKeyring"/>, as gpg --sign would.</summary>
    /// <returns>The binary signed message and the signer's fingerprint.</returns>
    public static (byte[] Signature, string Signer) Sign(ReadOnlySpan<byte> payload, byte[] secretKeyring, char[] passphrase)
    {
        PgpSecretKey? secret;
        try
        {
            var bundle = new PgpSecretKeyRingBundle(PgpUtilities.GetDecoderStream(new MemoryStream(secretKeyring)));
            secret = bundle.GetKeyRings().SelectMany(r => r.GetSecretKeys()).FirstOrDefault(k => k.IsSigningKey && !k.IsPrivateKeyEmpty);
        }
        catch (Exception e) when (e is PgpException or IOException)
        {
            throw new FormatException($"not an OpenPGP secret keyring: {e.Message}");
        }
        if (secret is null)
            throw new FormatException("the OpenPGP keyring has no secret signing key");
        PgpPrivateKey privateKey;
        try
        {
            privateKey = secret.ExtractPrivateKey(passphrase);
        }
        catch (PgpException)
        {
            throw new FormatException($"cannot unlock secret key {Fingerprint(secret.PublicKey)}: wrong passphrase?");
        }
        var generator = new PgpSignatureGenerator(secret.PublicKey.Algorithm, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, privateKey);
        using var output = new MemoryStream();
        var compressor = new PgpCompressedDataGenerator(CompressionAlgorithmTag.Zip);
        using (var compressed = compressor.Open(output))
        {
            generator.GenerateOnePassVersion(false).Encode(compressed);
            var literal = new PgpLiteralDataGenerator();
            using (var data = literal.Open(compressed, PgpLiteralData.Binary, "", payload.Length, DateTime.UtcNow))
                data.Write(payload);
            generator.Update(payload.ToArray());
            generator.Generate().Encode(compressed);
        }
        return (output.ToArray(), Fingerprint(secret.PublicKey));
    }

    public static string Fingerprint(PgpPublicKey key) => Convert.ToHexString(key.GetFingerprint());

    private static (PgpOnePassSignature OnePass, byte[] Payload, PgpSignatureList Signatures) ReadMessage(byte[] message)
    {
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(message)));
        var next = factory.NextPgpObject();
        if (next is PgpCompressedData compressed)
        {
            factory = new PgpObjectFactory(compressed.GetDataStream());
            next = factory.NextPgpObject();
        }
        if (next is not PgpOnePassSignatureList { Count: 1 } onePass)
            throw new FormatException("the signature message does not start with one one-pass signature");
        if (factory.NextPgpObject() is not PgpLiteralData literal)
            throw new FormatException("the signature message has no literal data after its one-pass signature");
        using var payload = new MemoryStream();
        var input = literal.GetInputStream();
        var chunk = new byte[8192];
        int read;
        while ((read = input.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (payload.Length + read > MaxSignatureBytes)
                throw new FormatException($"signature payload is more than {MaxSignatureBytes} bytes");
            payload.Write(chunk, 0, read);
        }
        if (factory.NextPgpObject() is not PgpSignatureList signatures)
            throw new FormatException("the signature message has no signature after its literal data");
        if (factory.NextPgpObject() is not null)
            throw new FormatException("the signature message has packets after its signature");
        return (onePass[0], payload.ToArray(), signatures);
    }

    private static PgpPublicKey? FindKey(IReadOnlyList<byte[]> keyrings, long keyId)
    {
        foreach (var keyring in keyrings)
        {
            PgpPublicKeyRingBundle bundle;
            try
            {
                bundle = new PgpPublicKeyRingBundle(PgpUtilities.GetDecoderStream(new MemoryStream(keyring)));
            }
            catch (Exception e) when (e is PgpException or IOException)
            {
                throw new FormatException($"a signedBy key is not an OpenPGP public keyring: {e.Message}");
            }
            if (bundle.GetPublicKey(keyId) is { } key)
                return key;
        }
        return null;
    }
}
