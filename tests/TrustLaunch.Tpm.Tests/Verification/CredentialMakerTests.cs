using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Encodings;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>
/// MakeCredential against software EKs: the test holds the private key, undoes every step by hand (BouncyCastle OAEP,
/// HMAC-SHA256 KDFa written out, BouncyCastle AES-CFB) and checks layout, binding and secret.
/// </summary>
public sealed class CredentialMakerTests
{
    private static readonly byte[] AkName = [0x00, 0x0B, .. SHA256.HashData("some AK public area"u8)];
    private static readonly byte[] Secret = [.. "a 20-byte credential"u8];

    private static readonly Lazy<RSA> RsaKey = new(() => RSA.Create(2048));

    [Fact]
    public void Make_RsaEk_LayoutIsDigestSizedHmacThenEncIdentity()
    {
        var made = CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, Secret);

        Assert.Equal(2 + 32 + 2 + Secret.Length, made.CredentialBlob.Length);
        Assert.Equal(32, BinaryPrimitives.ReadUInt16BigEndian(made.CredentialBlob));
        Assert.Equal(256, made.EncryptedSecret.Length);
    }

    [Fact]
    public void Make_RsaEk_PrivateKeyRecoversSeedAndSecret()
    {
        var made = CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, Secret);

        var oaep = new OaepEncoding(new RsaEngine(), new Sha256Digest(), new Sha256Digest(), "IDENTITY\0"u8.ToArray());
        oaep.Init(false, DotNetUtilities.GetRsaKeyPair(RsaKey.Value).Private);
        var seed = oaep.ProcessBlock(made.EncryptedSecret, 0, made.EncryptedSecret.Length);

        Assert.Equal(32, seed.Length);
        Assert.Equal(Secret, OpenByHand(seed, AkName, made.CredentialBlob, 128));
    }

    [Fact]
    public void Make_RsaEkWithAes256_DerivesA256BitKey()
    {
        var ek = RsaEk(RsaKey.Value) with { Symmetric = new TpmSymmetric(TpmAlgId.Aes, 256, TpmAlgId.Cfb) };

        var made = CredentialMaker.Make(ek, AkName, Secret);

        var oaep = new OaepEncoding(new RsaEngine(), new Sha256Digest(), new Sha256Digest(), "IDENTITY\0"u8.ToArray());
        oaep.Init(false, DotNetUtilities.GetRsaKeyPair(RsaKey.Value).Private);
        var seed = oaep.ProcessBlock(made.EncryptedSecret, 0, made.EncryptedSecret.Length);
        Assert.Equal(Secret, OpenByHand(seed, AkName, made.CredentialBlob, 256));
    }

    [Fact]
    public void Make_EccEk_EphemeralPointAndEkPrivateKeyRecoverSecret()
    {
        using var ekKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = ekKey.ExportParameters(false).Q;
        var ek = TpmTemplates.EkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, q.X!, q.Y!) };

        var made = CredentialMaker.Make(ek, AkName, Secret);

        // TPMS_ECC_POINT: TPM2B x || TPM2B y, each 32 bytes on P-256.
        Assert.Equal(2 + 32 + 2 + 32, made.EncryptedSecret.Length);
        Assert.Equal(32, BinaryPrimitives.ReadUInt16BigEndian(made.EncryptedSecret));
        var x = made.EncryptedSecret.AsSpan(2, 32).ToArray();
        var y = made.EncryptedSecret.AsSpan(36, 32).ToArray();
        using var ephemeral = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
        var z = ekKey.DeriveRawSecretAgreement(ephemeral.PublicKey);
        // KDFe with one SHA-256 block: H([1]32 || Z || "IDENTITY" 00 || x(ephemeral) || x(EK)).
        var seed = SHA256.HashData([0, 0, 0, 1, .. z, .. "IDENTITY\0"u8, .. x, .. q.X!]);
        Assert.Equal(Secret, OpenByHand(seed, AkName, made.CredentialBlob, 128));
    }

    [Fact]
    public void Make_TwiceSameInput_DifferentSeeds()
    {
        var ek = RsaEk(RsaKey.Value);

        var a = CredentialMaker.Make(ek, AkName, Secret);
        var b = CredentialMaker.Make(ek, AkName, Secret);

        Assert.NotEqual(a.EncryptedSecret, b.EncryptedSecret);
        Assert.NotEqual(a.CredentialBlob, b.CredentialBlob);
    }

    [Fact]
    public void Make_OtherName_HmacDoesNotVerify()
    {
        var made = CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, Secret);
        var oaep = new OaepEncoding(new RsaEngine(), new Sha256Digest(), new Sha256Digest(), "IDENTITY\0"u8.ToArray());
        oaep.Init(false, DotNetUtilities.GetRsaKeyPair(RsaKey.Value).Private);
        var seed = oaep.ProcessBlock(made.EncryptedSecret, 0, made.EncryptedSecret.Length);
        byte[] otherName = [.. AkName];
        otherName[^1] ^= 1;

        Assert.Throws<CryptographicException>(() => OpenByHand(seed, otherName, made.CredentialBlob, 128));
    }

    [Fact]
    public void Make_SecretOfDigestSize_Accepted()
    {
        var made = CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, new byte[32]);

        Assert.Equal(2 + 32 + 2 + 32, made.CredentialBlob.Length);
    }

    [Fact]
    public void Make_SecretTooLong_SaysSo()
    {
        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, new byte[33]));

        Assert.StartsWith("the secret is 33 bytes, too long: at most 32", e.Message);
        Assert.Equal("secret", e.ParamName);
    }

    [Fact]
    public void Make_EmptySecret_SaysSo()
    {
        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(RsaEk(RsaKey.Value), AkName, []));

        Assert.StartsWith("the secret is empty", e.Message);
    }

    [Fact]
    public void Make_EmptyName_SaysSo()
    {
        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(RsaEk(RsaKey.Value), [], Secret));

        Assert.StartsWith("the AK name is empty", e.Message);
        Assert.Equal("akName", e.ParamName);
    }

    [Fact]
    public void Make_SigningKeyAsEk_SaysNotRestrictedDecrypt()
    {
        var ak = RsaEk(RsaKey.Value) with { Attributes = TpmTemplates.AkAttributes };

        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(ak, AkName, Secret));

        Assert.StartsWith("the EK must be a restricted decryption key (restricted|decrypt without sign); its attributes are 0x00050072", e.Message);
    }

    [Fact]
    public void Make_UnrestrictedDecryptKey_SaysNotRestrictedDecrypt()
    {
        var ek = RsaEk(RsaKey.Value);
        ek = ek with { Attributes = ek.Attributes & ~TpmaObject.Restricted };

        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(ek, AkName, Secret));

        Assert.Contains("restricted decryption key", e.Message);
    }

    [Theory]
    [InlineData(TpmAlgId.Aes, 128, TpmAlgId.Cbc, "the EK symmetric Aes-128-Cbc is unsupported")]
    [InlineData(TpmAlgId.Null, 0, TpmAlgId.Null, "the EK symmetric Null-0-Null is unsupported")]
    [InlineData(TpmAlgId.Aes, 64, TpmAlgId.Cfb, "the EK symmetric Aes-64-Cfb is unsupported")]
    public void Make_UnsupportedSymmetric_SaysWhich(TpmAlgId algorithm, ushort keyBits, TpmAlgId mode, string expected)
    {
        var ek = RsaEk(RsaKey.Value) with { Symmetric = new TpmSymmetric(algorithm, keyBits, mode) };

        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(ek, AkName, Secret));

        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void Make_TemplateWithoutModulus_SaysSo()
    {
        var template = TpmTemplates.EkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, []) };

        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(template, AkName, Secret));

        Assert.StartsWith("the RSA EK has no modulus", e.Message);
    }

    [Fact]
    public void Make_EccPointNotOnCurve_SaysSo()
    {
        var ek = TpmTemplates.EkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, new byte[32], [.. new byte[31], 1]) };

        var e = Assert.Throws<ArgumentException>(() => CredentialMaker.Make(ek, AkName, Secret));

        Assert.StartsWith("the ECC EK point is not on NistP256", e.Message);
    }

    internal static TpmPublic RsaEk(RSA key) =>
        TpmTemplates.EkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, key.ExportParameters(false).Modulus!) };

    /// <summary>ActivateCredential's software half, written out from Part 1, 24.4–24.5, independent of CredentialMaker.</summary>
    internal static byte[] OpenByHand(byte[] seed, byte[] name, byte[] blob, int symBits)
    {
        var hmacSize = BinaryPrimitives.ReadUInt16BigEndian(blob);
        Assert.Equal(32, hmacSize);
        var integrity = blob.AsSpan(2, hmacSize).ToArray();
        var encIdentity = blob.AsSpan(2 + hmacSize).ToArray();

        // hmacKey = KDFa(SHA256, seed, "INTEGRITY", "", "", 256): one HMAC block.
        var hmacKey = HMACSHA256.HashData(seed, (byte[])[0, 0, 0, 1, .. "INTEGRITY\0"u8, 0, 0, 1, 0]);
        var expected = HMACSHA256.HashData(hmacKey, (byte[])[.. encIdentity, .. name]);
        if (!CryptographicOperations.FixedTimeEquals(expected, integrity))
            throw new CryptographicException("integrityHMAC does not verify");

        // symKey = KDFa(SHA256, seed, "STORAGE", name, "", symBits).
        var bitsBytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bitsBytes, (uint)symBits);
        var symKey = HMACSHA256.HashData(seed, (byte[])[0, 0, 0, 1, .. "STORAGE\0"u8, .. name, .. bitsBytes])[..(symBits / 8)];

        var cfb = new CfbBlockCipher(new AesEngine(), 128);
        cfb.Init(false, new ParametersWithIV(new KeyParameter(symKey), new byte[16]));
        // Whole blocks only: pad the ciphertext, decrypt, keep the real length (CFB output depends only on what precedes it).
        var padded = new byte[(encIdentity.Length + 15) / 16 * 16];
        encIdentity.CopyTo(padded, 0);
        var plain = new byte[padded.Length];
        for (var offset = 0; offset < padded.Length; offset += 16)
            cfb.ProcessBlock(padded, offset, plain, offset);
        var identity = plain[..encIdentity.Length];
        var size = BinaryPrimitives.ReadUInt16BigEndian(identity);
        Assert.Equal(identity.Length - 2, size);
        return identity[2..];
    }
}
