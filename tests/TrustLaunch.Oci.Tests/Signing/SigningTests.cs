using System.Security.Cryptography;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Tests.Signing;

public sealed class SigningTests
{
    public static TheoryData<string, string?, string> Keys()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        return new TheoryData<string, string?, string>
        {
            { ec.ExportPkcs8PrivateKeyPem(), null, "ES256" },
            { ec.ExportECPrivateKeyPem(), null, "ES256" },
            { rsa.ExportRSAPrivateKeyPem(), null, "RS256" },
            { rsa.ExportPkcs8PrivateKeyPem(), "PS256", "PS256" },
        };
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Sign_EachKeyForm_VerifiesWithSpkiPublicKey(string privatePem, string? algorithm, string expectedAlgorithm)
    {
        using var signer = PemPayloadSigner.FromPem(privatePem, algorithm);
        using var key = PemKeys.ParsePrivateKey(privatePem);
        var publicPem = key switch
        {
            ECDsa e => e.ExportSubjectPublicKeyInfoPem(),
            RSA r => r.ExportSubjectPublicKeyInfoPem(),
            _ => throw new InvalidOperationException(),
        };
        using var verifier = PemPayloadVerifier.FromPem(publicPem);
        var data = "payload"u8.ToArray();
        var signature = signer.Sign(data);

        Assert.Equal(expectedAlgorithm, signer.Algorithm);
        Assert.Equal(signer.KeyId, verifier.KeyId);
        Assert.True(verifier.Verify(signer.Algorithm, data, signature));
        Assert.False(verifier.Verify(signer.Algorithm, "other"u8, signature));
        Assert.False(verifier.Verify("HS256", data, signature));
    }

    [Theory]
    [InlineData("genrsa", "RS256")]
    [InlineData("genrsa-traditional", "PS256")]
    [InlineData("genrsa", "PS256")]
    [InlineData("ecparam", "ES256")]
    public async Task Sign_OpensslKeys_OpensslAndWeVerify(string keyKind, string algorithm)
    {
        var dir = Directory.CreateTempSubdirectory("tl-openssl-").FullName;
        try
        {
            string F(string n) => Path.Combine(dir, n);
            async Task Run(params string[] args) => (await TrustLaunch.Testing.ProcessRunner.RunAsync("openssl", args)).EnsureSuccess("openssl " + string.Join(' ', args));
            if (keyKind == "ecparam")
            {
                await Run("ecparam", "-name", "prime256v1", "-genkey", "-out", F("key.pem"));
                await Run("ec", "-in", F("key.pem"), "-pubout", "-out", F("pub.pem"));
            }
            else
            {
                await Run(keyKind == "genrsa" ? ["genrsa", "-out", F("key.pem"), "2048"] : ["genrsa", "-traditional", "-out", F("key.pem"), "2048"]);
                await Run("rsa", "-in", F("key.pem"), "-pubout", "-out", F("pub.pem"));
            }
            using var signer = PemPayloadSigner.FromFile(F("key.pem"), algorithm);
            using var verifier = PemPayloadVerifier.FromFile(F("pub.pem"));
            var data = "golden"u8.ToArray();
            var signature = signer.Sign(data);
            Assert.True(verifier.Verify(algorithm, data, signature));
            Assert.Equal(signer.KeyId, verifier.KeyId);
            if (algorithm != "ES256")
            {
                File.WriteAllBytes(F("data"), data);
                File.WriteAllBytes(F("sig"), signature);
                string[] pss = algorithm == "PS256" ? ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"] : [];
                await Run(["dgst", "-sha256", "-verify", F("pub.pem"), .. pss, "-signature", F("sig"), F("data")]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FromPem_OpensslEcParamOutput_SkipsParametersBlock()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + ec.ExportECPrivateKeyPem();
        using var signer = PemPayloadSigner.FromPem(pem);
        Assert.Equal("ES256", signer.Algorithm);
    }

    [Fact]
    public void FromPem_P384Key_RefusedForEs256()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var e = Assert.Throws<CryptographicException>(() => PemPayloadSigner.FromPem(ec.ExportPkcs8PrivateKeyPem(), source: "k.pem"));
        Assert.Equal("k.pem: EC P-384 key cannot sign ES256; ES256 needs a P-256 key", e.Message);
    }

    [Fact]
    public void FromPem_NoKey_NamesSource()
    {
        var e = Assert.Throws<CryptographicException>(() => PemPayloadSigner.FromPem("nothing", source: "k.pem"));
        Assert.Equal("k.pem: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block", e.Message);
    }

    [Fact]
    public void TrustedKeys_Directory_LoadsEveryPem()
    {
        var dir = Directory.CreateTempSubdirectory("tl-keys-");
        try
        {
            using var a = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var b = RSA.Create(2048);
            File.WriteAllText(Path.Combine(dir.FullName, "a.pem"), a.ExportSubjectPublicKeyInfoPem());
            File.WriteAllText(Path.Combine(dir.FullName, "b.pem"), b.ExportSubjectPublicKeyInfoPem());
            File.WriteAllText(Path.Combine(dir.FullName, "ignored.txt"), "x");
            var keys = TrustedKeys.Load(dir.FullName);
            Assert.Equal(2, keys.KeyIds.Count);
            Assert.True(keys.TryGet(Jwk.ThumbprintOf(a), out _));
            Assert.True(keys.TryGet(Jwk.ThumbprintOf(b), out _));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
