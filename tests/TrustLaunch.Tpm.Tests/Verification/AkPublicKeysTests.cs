using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

public sealed class AkPublicKeysTests
{
    private static TpmPublic EccAk(ECDsa key)
    {
        var p = key.ExportParameters(false);
        return TpmTemplates.AkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, p.Q.X!, p.Q.Y!) };
    }

    private static TpmPublic RsaAk(RSA key) =>
        TpmTemplates.AkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, key.ExportParameters(false).Modulus!) };

    [Fact]
    public void Load_EccSubjectPublicKeyInfoPem_ReturnsEcdsa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var loaded = AkPublicKeys.Load(Encoding.ASCII.GetBytes(key.ExportSubjectPublicKeyInfoPem()));
        var ecdsa = Assert.IsAssignableFrom<ECDsa>(loaded);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), ecdsa.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_RsaSubjectPublicKeyInfoPemWithBomAndBlankLines_ReturnsRsa()
    {
        using var key = RSA.Create(2048);
        byte[] file = [0xEF, 0xBB, 0xBF, .. "\n\n"u8, .. Encoding.ASCII.GetBytes(key.ExportSubjectPublicKeyInfoPem()), .. "\n"u8];
        using var loaded = AkPublicKeys.Load(file);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), Assert.IsAssignableFrom<RSA>(loaded).ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_Pkcs1RsaPublicKeyPem_ReturnsRsa()
    {
        using var key = RSA.Create(2048);
        var pem = PemEncoding.WriteString("RSA PUBLIC KEY", key.ExportRSAPublicKey());
        using var loaded = AkPublicKeys.Load(Encoding.ASCII.GetBytes(pem));
        Assert.Equal(key.ExportRSAPublicKey(), Assert.IsAssignableFrom<RSA>(loaded).ExportRSAPublicKey());
    }

    [Fact]
    public void Load_EccTpm2bPublic_ReturnsEcdsa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var loaded = AkPublicKeys.Load(EccAk(key).ToTpm2bPublic());
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), Assert.IsAssignableFrom<ECDsa>(loaded).ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_RsaTpm2bPublic_ReturnsRsa()
    {
        using var key = RSA.Create(2048);
        using var loaded = AkPublicKeys.Load(RsaAk(key).ToTpm2bPublic());
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), Assert.IsAssignableFrom<RSA>(loaded).ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_Tpm2bPublicLoadedKey_VerifiesItsQuote()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = SoftwareSigner.Quote(key);
        using var loaded = AkPublicKeys.Load(EccAk(key).ToTpm2bPublic());
        Assert.Equal("valid", (q with { Key = loaded }).Verify().Reason);
    }

    private static string Refusal(byte[] file) => Assert.Throws<TpmFormatException>(() => AkPublicKeys.Load(file)).Message;

    [Fact]
    public void Load_Empty_Throws() => Assert.Equal("AK public key: the file is empty", Refusal([]));

    [Fact]
    public void Load_PemWithoutEnd_Throws() =>
        Assert.Equal("AK public key PEM: no complete PEM block found", Refusal("-----BEGIN PUBLIC KEY-----\nMFkw\n"u8.ToArray()));

    [Fact]
    public void Load_PrivateKeyPem_Throws()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem());
        Assert.Equal("AK public key PEM: label 'PRIVATE KEY' is not PUBLIC KEY or RSA PUBLIC KEY", Refusal(pem));
    }

    [Fact]
    public void Load_PemOfGarbage_Throws()
    {
        var pem = Encoding.ASCII.GetBytes(PemEncoding.WriteString("PUBLIC KEY", [1, 2, 3, 4]));
        Assert.StartsWith("AK public key PEM: PUBLIC KEY is not a valid key: ", Refusal(pem));
    }

    [Fact]
    public void Load_PemOfDsaKey_Throws()
    {
        using var dsa = DSA.Create(2048);
        var pem = Encoding.ASCII.GetBytes(dsa.ExportSubjectPublicKeyInfoPem());
        Assert.Equal("AK public key PEM: algorithm 1.2.840.10040.4.1 is not RSA or EC", Refusal(pem));
    }

    [Fact]
    public void Load_PemNotUtf8_Throws() =>
        Assert.Equal("AK public key PEM: not valid UTF-8 text", Refusal([.. "-----BEGIN PUBLIC KEY-----\n"u8, 0xFF, 0xFE]));

    [Fact]
    public void Load_KeyedHashTpm2bPublic_Throws()
    {
        var pub = new TpmPublic(TpmAlgId.KeyedHash, TpmAlgId.Sha256, TpmaObject.Sign, [], TpmSymmetric.None,
            new TpmScheme(TpmAlgId.Hmac, TpmAlgId.Sha256), UniqueDigest: new byte[32]);
        Assert.Equal("TPM2B_PUBLIC: type 0x0008 is not an RSA or ECC key", Refusal(pub.ToTpm2bPublic()));
    }

    [Fact]
    public void Load_Template_Throws() =>
        Assert.Equal("TPM2B_PUBLIC: unique is empty (a template, not a created key)", Refusal(TpmTemplates.AkEccP256().ToTpm2bPublic()));

    [Fact]
    public void Load_EccPointNotOnCurve_Throws()
    {
        var pub = TpmTemplates.AkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, new byte[32], [.. new byte[31], 1]) };
        Assert.StartsWith("TPM2B_PUBLIC: the ECC key is unusable: ", Refusal(pub.ToTpm2bPublic()));
    }

    [Fact]
    public void Load_UnsupportedCurve_Throws()
    {
        var pub = TpmTemplates.AkEccP256() with { Ecc = new TpmEccKey((TpmEccCurve)0x0010, TpmScheme.None, new byte[32], new byte[32]) };
        Assert.StartsWith("TPM2B_PUBLIC: the ECC key is unusable: ", Refusal(pub.ToTpm2bPublic()));
    }

    [Fact]
    public void Load_Tpm2bPublicTruncated_Throws()
    {
        using var key = RSA.Create(2048);
        var file = RsaAk(key).ToTpm2bPublic();
        Assert.StartsWith("TPM2B_PUBLIC: publicArea: needs ", Refusal(file[..^1]));
    }

    [Fact]
    public void Load_Tpm2bPublicWithTrailingByte_Throws()
    {
        using var key = RSA.Create(2048);
        Assert.Equal("TPM2B_PUBLIC: 1 unexpected trailing bytes", Refusal([.. RsaAk(key).ToTpm2bPublic(), 0]));
    }
}
