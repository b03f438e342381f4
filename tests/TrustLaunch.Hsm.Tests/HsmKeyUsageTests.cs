using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Testing;

namespace TrustLaunch.Hsm.Tests;

/// <summary>One usage per key, fixed on the token at generation or import, and refused uses named before SoftHSM is asked.</summary>
public sealed class HsmKeyUsageTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes("one key, one use");

    private static string NewLabel(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    private IReadOnlyList<string> UsageOnToken(HsmSession session, string label, string cls) =>
        session.ListKeys().Single(k => k.Label == label && k.Class == cls).Usage;

    [Fact]
    public void GenerateKey_AesDefault_WrapOnlyOnTheToken()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("kek");
        var key = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = label });

        Assert.Equal(["wrap", "unwrap"], UsageOnToken(session, label, "secret-key"));
        Assert.Equal(HsmKeyFunctions.Wrap | HsmKeyFunctions.Unwrap, session.FindKey(label).Functions);
        Assert.Equal(HsmKeyFunctions.Wrap | HsmKeyFunctions.Unwrap, key.Functions);
    }

    [Fact]
    public void Encrypt_WrapOnlyAesKey_RefusedNamingTheUsage()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("kek");
        session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Wrap });
        var key = session.FindKey(label);

        var e = Assert.Throws<HsmException>(() => session.Encrypt(key, Data));

        Assert.Equal("C_EncryptInit failed: CKR_KEY_FUNCTION_NOT_PERMITTED: " +
            $"secret-key key '{label}' (AES-256) may not encrypt: its usage allows wrap/unwrap only; use a key made with --usage encrypt", e.Message);
    }

    [Fact]
    public void Encrypt_WrapOnlyAesKeyPastTheCheck_TokenRefusesToo()
    {
        // The attributes on the token are the defence; the check above only names it first.
        using var session = hsm.OpenSession();
        var label = NewLabel("kek");
        var key = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Wrap });
        var claimed = key with { Functions = HsmKeyFunctions.Encrypt | HsmKeyFunctions.Decrypt };

        var e = Assert.Throws<HsmException>(() => session.Encrypt(claimed, Data));

        Assert.Equal("CKR_KEY_FUNCTION_NOT_PERMITTED", e.Code);
    }

    [Fact]
    public void Wrap_EncryptOnlyAesKey_Refused()
    {
        using var session = hsm.OpenSession();
        var dek = session.GenerateKey(HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = NewLabel("dek"), Usage = HsmKeyUsage.Encrypt, Extractable = true });
        var label = NewLabel("enc");
        var encryptOnly = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Encrypt });

        var e = Assert.Throws<HsmException>(() => session.Wrap(encryptOnly, dek));

        Assert.Equal("C_WrapKey failed: CKR_KEY_FUNCTION_NOT_PERMITTED: " +
            $"secret-key key '{label}' (AES-256) may not wrap: its usage allows encrypt/decrypt only; use a key made with --usage wrap", e.Message);
        Assert.Equal(["encrypt", "decrypt"], UsageOnToken(session, label, "secret-key"));
    }

    [Fact]
    public void GenerateKey_RsaSignDefault_NeitherDecryptsNorUnwraps()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("rsa");
        var priv = session.GenerateKey(HsmKeySpec.Parse("rsa:2048"), new HsmKeyOptions { Label = label });
        using var pub = (RSA)session.GetPublicKey(priv);

        var e = Assert.Throws<HsmException>(() => session.Decrypt(priv, pub.Encrypt(Data, RSAEncryptionPadding.OaepSHA1)));

        Assert.Equal($"C_DecryptInit failed: CKR_KEY_FUNCTION_NOT_PERMITTED: private key '{label}' (RSA-2048) may not decrypt: " +
            "its usage allows sign only; use a key made with --usage encrypt", e.Message);
        Assert.Equal(["sign"], UsageOnToken(session, label, "private"));
        Assert.Equal(["verify"], UsageOnToken(session, label, "public"));
    }

    [Fact]
    public void GenerateKey_RsaDecryptUsage_CannotSign()
    {
        using var session = hsm.OpenSession();
        var label = NewLabel("rsa-enc");
        var priv = session.GenerateKey(HsmKeySpec.Parse("rsa:2048"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Encrypt });

        var e = Assert.Throws<HsmException>(() => session.Sign(priv, "RS256", Data));

        Assert.Equal($"C_SignInit failed: CKR_KEY_FUNCTION_NOT_PERMITTED: private key '{label}' (RSA-2048) may not sign: " +
            "its usage allows decrypt only; use a key made with --usage sign", e.Message);
        Assert.Equal(["decrypt"], UsageOnToken(session, label, "private"));
        Assert.Equal(["encrypt"], UsageOnToken(session, label, "public"));
    }

    [Fact]
    public void Unwrap_AesKeyWithEncryptUsage_EncryptsButDoesNotWrap()
    {
        using var session = hsm.OpenSession();
        var kek = session.GenerateKey(HsmKeySpec.Parse("aes:256"), new HsmKeyOptions { Label = NewLabel("kek") });
        var dek = session.GenerateKey(HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = NewLabel("dek"), Usage = HsmKeyUsage.Encrypt, Extractable = true });
        var label = NewLabel("imported");

        var copy = session.Unwrap(kek, session.Wrap(kek, dek), HsmKeySpec.Parse("aes:128"), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Encrypt });

        Assert.Equal(Data, session.Decrypt(copy, session.Encrypt(copy, Data)));
        Assert.Equal(["encrypt", "decrypt"], UsageOnToken(session, label, "secret-key"));
    }

    [Theory]
    [InlineData("ec:p256", HsmKeyUsage.Encrypt, "an EC key can only sign, not encrypt")]
    [InlineData("ec:p384", HsmKeyUsage.Wrap, "an EC key can only sign, not wrap")]
    [InlineData("aes:256", HsmKeyUsage.Sign, "an AES key can encrypt or wrap, not sign")]
    public void GenerateKey_UsageTheKindCannotHave_Refused(string spec, HsmKeyUsage usage, string message)
    {
        using var session = hsm.OpenSession();
        var e = Assert.Throws<FormatException>(() => session.GenerateKey(HsmKeySpec.Parse(spec), new HsmKeyOptions { Label = NewLabel("bad"), Usage = usage }));
        Assert.Equal(message, e.Message);
    }
}
