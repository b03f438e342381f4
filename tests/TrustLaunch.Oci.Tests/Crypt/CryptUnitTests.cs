using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Tests.Crypt;

public sealed class CryptUnitTests
{
    private static async Task<(OciDescriptor Encrypted, byte[] Ciphertext, byte[] Plain, OciDescriptor PlainDesc)> EncryptSample(params EncryptionRecipient[] recipients)
    {
        var plain = RandomNumberGenerator.GetBytes(100_000);
        var plainDesc = new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Sha256(plain), Size = plain.Length };
        using var output = new MemoryStream();
        var encrypted = await Ocicrypt.EncryptAsync(plainDesc, new MemoryStream(plain), output, recipients);
        return (encrypted, output.ToArray(), plain, plainDesc);
    }

    public static TheoryData<string> KeyKinds() => ["rsa", "p256", "p384", "p521"];

    private static (string Private, string Public) NewKey(string kind)
    {
        if (kind == "rsa")
        {
            using var rsa = RSA.Create(2048);
            return (rsa.ExportRSAPrivateKeyPem(), rsa.ExportSubjectPublicKeyInfoPem());
        }
        using var ec = ECDsa.Create(kind switch { "p256" => ECCurve.NamedCurves.nistP256, "p384" => ECCurve.NamedCurves.nistP384, _ => ECCurve.NamedCurves.nistP521 });
        return (ec.ExportECPrivateKeyPem(), ec.ExportSubjectPublicKeyInfoPem());
    }

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public async Task EncryptThenDecrypt_EachKeyKind_RoundTrips(string kind)
    {
        var (priv, pub) = NewKey(kind);
        var (other, _) = NewKey("p256");
        var recipient = EncryptionRecipient.FromPem(pub);
        var (encrypted, ciphertext, plain, plainDesc) = await EncryptSample(recipient);
        Assert.Equal(MediaTypes.OciLayerGzipEncrypted, encrypted.MediaType);
        Assert.Equal(Digest.Sha256(ciphertext), encrypted.Digest);

        using var wrongKey = DecryptionKey.FromPem(other, "other.pem");
        using var key = DecryptionKey.FromPem(priv, "key.pem");
        using var stream = Ocicrypt.Decrypt(encrypted, new MemoryStream(ciphertext), [wrongKey, key]);
        using var result = new MemoryStream();
        await stream.CopyToAsync(result);
        Assert.Equal(plain, result.ToArray());
        Assert.True(stream.IsVerified);
        Assert.Equal(plainDesc.Digest, Ocicrypt.DecryptedDescriptor(encrypted, [key]).Digest);
    }

    [Fact]
    public async Task Decrypt_WrongKey_ExactError()
    {
        var (_, pub) = NewKey("rsa");
        var (otherRsa, _) = NewKey("rsa");
        var (otherEc, _) = NewKey("p256");
        var recipient = EncryptionRecipient.FromPem(pub);
        var (encrypted, ciphertext, _, _) = await EncryptSample(recipient);
        using var k1 = DecryptionKey.FromPem(otherRsa, "a.pem");
        using var k2 = DecryptionKey.FromPem(otherEc, "b.pem");
        var e = Assert.Throws<CryptographicException>(() => Ocicrypt.Decrypt(encrypted, new MemoryStream(ciphertext), [k1, k2]));
        Assert.Equal($"layer {encrypted.Digest}: none of the 2 decryption key(s) (a.pem, b.pem) can unwrap any of its 1 JWE recipient(s)", e.Message);
    }

    [Fact]
    public async Task Decrypt_TamperedCiphertext_ThrowsAtEndOnly()
    {
        var (priv, pub) = NewKey("p256");
        var recipient = EncryptionRecipient.FromPem(pub);
        var (encrypted, ciphertext, _, _) = await EncryptSample(recipient);
        ciphertext[50_000] ^= 0x01;
        using var key = DecryptionKey.FromPem(priv);
        using var stream = Ocicrypt.Decrypt(encrypted, new MemoryStream(ciphertext), [key]);
        var buffer = new byte[ciphertext.Length];
        var read = 0;
        while (read < buffer.Length)
            read += stream.Read(buffer, read, buffer.Length - read);
        var e = Assert.Throws<LayerIntegrityException>(() => stream.Read(buffer, 0, 1));
        Assert.Equal($"layer {encrypted.Digest}: HMAC mismatch at end of stream after 100000 bytes: the encrypted layer was modified; discard everything read from it", e.Message);
        Assert.False(stream.IsVerified);
    }

    [Fact]
    public async Task Decrypt_TamperedJwe_Refused()
    {
        var (priv, pub) = NewKey("p256");
        var recipient = EncryptionRecipient.FromPem(pub);
        var (encrypted, ciphertext, _, _) = await EncryptSample(recipient);
        var annotations = encrypted.Annotations!.ToDictionary();
        annotations[Ocicrypt.PubOptsAnnotation] = Convert.ToBase64String("{\"cipher\":\"AES_128_GCM\",\"hmac\":\"\"}"u8);
        using var key = DecryptionKey.FromPem(priv);
        var e = Assert.Throws<CryptographicException>(() => Ocicrypt.Decrypt(encrypted with { Annotations = annotations }, new MemoryStream(ciphertext), [key]));
        Assert.Equal($"layer {encrypted.Digest}: cipher 'AES_128_GCM' is not AES_256_CTR_HMAC_SHA256", e.Message);
    }
}
