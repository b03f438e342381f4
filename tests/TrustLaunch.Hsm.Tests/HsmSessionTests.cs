using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Hsm.Tests;

public sealed class HsmSessionTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes("launch only when trusted");

    private static string NewLabel(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    [Theory]
    [InlineData("rsa:2048", "RS256")]
    [InlineData("rsa:3072", "PS256")]
    [InlineData("rsa:2048", "PS384")]
    [InlineData("ec:p256", "ES256")]
    [InlineData("ec:p384", "ES384")]
    public void Sign_GeneratedKey_VerifiesInHsmAndWithExportedPublicKey(string spec, string alg)
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("sign");
        var key = session.GenerateKey(HsmKeySpec.Parse(spec), new HsmKeyOptions { Label = label });
        var signature = session.Sign(key, alg, Data);

        var pub = session.FindKey(new Pkcs11Uri { Token = hsm.TokenLabel, Object = label, Type = HsmObjectType.Public });
        Assert.True(session.Verify(pub, alg, Data, signature));
        Assert.False(session.Verify(pub, alg, Encoding.UTF8.GetBytes("tampered"), signature));

        using var exported = session.GetPublicKey(key);
        var hash = alg[2..] switch { "256" => HashAlgorithmName.SHA256, "384" => HashAlgorithmName.SHA384, _ => HashAlgorithmName.SHA512 };
        var ok = exported switch
        {
            ECDsa ec => ec.VerifyData(Data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            RSA rsa => rsa.VerifyData(Data, signature, hash, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
            _ => false,
        };
        Assert.True(ok);
    }

    [Fact]
    public void Verify_EcdsaDerSignature_Accepted()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("der");
        var key = session.GenerateKey(HsmKeySpec.Parse("ec:p256"), new HsmKeyOptions { Label = label });
        var der = EcdsaSignatureFormats.P1363ToDer(session.Sign(key, "ES256", Data));
        Assert.Equal(0x30, der[0]);
        var pub = session.FindKey($"pkcs11:token={hsm.TokenLabel};object={label};type=public");
        Assert.True(session.Verify(pub, "ES256", Data, der));
    }

    [Fact]
    public void Sign_EcAlgorithmWithRsaKey_SaysWrongKeyType()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("rsa");
        var key = session.GenerateKey(HsmKeySpec.Parse("rsa:2048"), new HsmKeyOptions { Label = label });
        var e = Assert.Throws<HsmException>(() => session.Sign(key, "ES256", Data));
        Assert.Equal("CKR_KEY_TYPE_INCONSISTENT", e.Code);
        Assert.Equal($"C_SignInit failed: CKR_KEY_TYPE_INCONSISTENT: private key '{label}' (RSA-2048) cannot make ES256 signatures; ES256 needs an EC P-256 key", e.Message);
    }

    [Fact]
    public void EnsurePrivateExportable_DefaultKey_RefusedAsNonExtractable()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("nx");
        var key = session.GenerateKey(HsmKeySpec.Parse("ec:p256"), new HsmKeyOptions { Label = label });
        var e = Assert.Throws<HsmException>(() => session.EnsurePrivateExportable(key));
        Assert.Equal("CKR_KEY_UNEXTRACTABLE", e.Code);
        Assert.Contains("cannot leave the HSM", e.Message);
        var list = session.ListKeys().Where(k => k.Label == label).ToList();
        Assert.Equal(2, list.Count);
        var priv = Assert.Single(list, k => k.Class == "private");
        Assert.Equal(false, priv.Extractable);
        Assert.Equal(true, priv.Sensitive);
    }

    [Fact]
    public void Wrap_NonExtractableKey_FailsWithCkrCode()
    {
        using var session = hsm.OpenSession();
        var kek = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("kek") });
        var secret = session.GenerateKey(HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = NewLabel("nx") });
        var e = Assert.Throws<HsmException>(() => session.Wrap(kek, secret));
        Assert.Equal("C_WrapKey", e.Function);
        Assert.Equal("CKR_KEY_UNEXTRACTABLE", e.Code);
    }

    [Fact]
    public void EncryptDecrypt_AesGcmAndRsaOaep_RoundTrip()
    {
        using var session = hsm.OpenSession();
        var aes = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("aes"), Usage = HsmKeyUsage.Encrypt });
        var ct = session.Encrypt(aes, Data);
        Assert.Equal(12 + Data.Length + 16, ct.Length);
        Assert.Equal(Data, session.Decrypt(aes, ct));
        ct[^1] ^= 1;
        Assert.Throws<HsmException>(() => session.Decrypt(aes, ct));

        var label = NewLabel("oaep");
        var priv = session.GenerateKey(HsmKeySpec.Parse("rsa:2048"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Encrypt });
        var pub = session.FindKey($"pkcs11:object={label};type=public");
        var rsaCt = session.Encrypt(pub, Data);
        Assert.Equal(Data, session.Decrypt(priv, rsaCt));
        using var exported = (RSA)session.GetPublicKey(priv);
        Assert.Equal(Data, session.Decrypt(priv, exported.Encrypt(Data, RSAEncryptionPadding.OaepSHA1)));
    }

    [Fact]
    public void WrapUnwrap_AesKeyWrapAndRsaOaep_UnwrappedKeyDecrypts()
    {
        using var session = hsm.OpenSession();
        var kek = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("kek") });
        var dek = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("dek"), Extractable = true, Usage = HsmKeyUsage.Encrypt });
        var ct = session.Encrypt(dek, Data);

        var wrapped = session.Wrap(kek, dek);
        var copy = session.Unwrap(kek, wrapped, HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("dek2"), Usage = HsmKeyUsage.Encrypt });
        Assert.Equal(Data, session.Decrypt(copy, ct));

        var rsaLabel = NewLabel("rsawrap");
        var rsa = session.GenerateKey(HsmKeySpec.Parse("rsa:2048"), new HsmKeyOptions { Label = rsaLabel, Usage = HsmKeyUsage.Wrap });
        var rsaPub = session.FindKey($"pkcs11:object={rsaLabel};type=public");
        var wrapped2 = session.Wrap(rsaPub, dek);
        var copy2 = session.Unwrap(rsa, wrapped2, HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("dek3"), Usage = HsmKeyUsage.Encrypt });
        Assert.Equal(Data, session.Decrypt(copy2, ct));
    }

    [Fact]
    public void Delete_KeyPair_RemovesBothHalves()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("del");
        session.GenerateKey(HsmKeySpec.Parse("ec:p256"), new HsmKeyOptions { Label = label });
        Assert.Equal(2, session.Delete(Pkcs11Uri.Parse($"pkcs11:object={label}")));
        var e = Assert.Throws<HsmException>(() => session.FindKey(label));
        Assert.Equal("key not found", e.Code);
    }

    [Fact]
    public void GenerateKey_LabelInUse_Refused()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("dup");
        session.GenerateKey(HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = label });
        Assert.Equal("label in use", Assert.Throws<HsmException>(() => session.GenerateKey(HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = label })).Code);
    }

    [Fact]
    public void GenerateRandom_ReturnsRequestedLength()
    {
        using var session = hsm.OpenSession();
        var a = session.GenerateRandom(32);
        Assert.Equal(32, a.Length);
        Assert.NotEqual(a, session.GenerateRandom(32));
    }

    [Fact]
    public async Task HsmPayloadSigner_SixteenConcurrentSigners_AllSignaturesVerify()
    {
        var label = NewLabel("conc");
        using (var session = hsm.OpenSession())
            session.GenerateKey(HsmKeySpec.Parse("ec:p256"), new HsmKeyOptions { Label = label });
        using var signer = HsmPayloadSigner.Open(hsm.Module, Pkcs11Uri.Parse($"pkcs11:token={hsm.TokenLabel};object={label}"), SoftHsmFixture.UserPin);
        using var check = hsm.OpenSession();
        using var pub = (ECDsa)check.GetPublicKey(check.FindKey(label, HsmObjectType.Private));
        var tasks = Enumerable.Range(0, 16).Select(i => Task.Run(() =>
        {
            var results = new List<(byte[], byte[])>();
            for (var j = 0; j < 20; j++)
            {
                var msg = Encoding.UTF8.GetBytes($"{i}/{j}");
                results.Add((msg, signer.Sign(msg)));
            }
            return results;
        })).ToArray();
        var all = (await Task.WhenAll(tasks)).SelectMany(r => r).ToList();
        Assert.Equal(320, all.Count);
        Assert.All(all, r => Assert.True(pub.VerifyData(r.Item1, r.Item2, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)));
    }

    [Theory]
    [InlineData("ec:p256", null, "ES256")]
    [InlineData("rsa:2048", "PS256", "PS256")]
    public void GoldenValue_SignedWithHsmKey_VerifiesWithExportedPublicKey(string spec, string? alg, string expected)
    {
        var label = NewLabel("golden");
        string pem;
        using (var session = hsm.OpenSession())
        {
            var key = session.GenerateKey(HsmKeySpec.Parse(spec), new HsmKeyOptions { Label = label });
            using var pub = session.GetPublicKey(key);
            pem = PublicKeyExport.ToPem(pub);
        }
        using var signer = HsmPayloadSigner.Open(hsm.Module, Pkcs11Uri.Parse($"pkcs11:token={hsm.TokenLabel};object={label};type=private"), SoftHsmFixture.UserPin, alg);
        Assert.Equal(expected, signer.Algorithm);
        var created = DateTimeOffset.UtcNow.AddMinutes(-1);
        var manifest = Digest.Sha256("manifest"u8);
        var golden = new GoldenValue
        {
            Reference = "registry.local/app:1",
            ManifestDigest = manifest,
            ConfigDigest = Digest.Sha256("config"u8),
            LayerDigests = [Digest.Sha256("l0"u8)],
            DiffIds = [Digest.Sha256("d0"u8)],
            RootfsDigest = Digest.Sha256("rootfs"u8),
            Created = created,
            Expires = created.AddDays(1),
        };
        var jws = golden.Sign(signer);
        using var verifier = PemPayloadVerifier.FromPem(pem);
        Assert.Equal(signer.KeyId, verifier.KeyId);
        var result = GoldenValueVerifier.Verify(jws, new TrustedKeys([verifier]), manifest, DateTimeOffset.UtcNow);
        Assert.True(result.IsVerified, result.ToString());
    }

    [Fact]
    public void PublicKeyExport_Jwk_KidIsRfc7638Thumbprint()
    {
        using var session = hsm.OpenSession();
        var key = session.GenerateKey(HsmKeySpec.Parse("ec:p256"), new HsmKeyOptions { Label = NewLabel("jwk") });
        using var pub = session.GetPublicKey(key);
        var jwk = PublicKeyExport.ToJwk(pub);
        Assert.StartsWith("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", jwk);
        Assert.EndsWith($",\"kid\":\"{Jwk.ThumbprintOf(pub)}\"}}", jwk);
    }
}
