using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Encodings;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using TrustLaunch.Tpm.Verification;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>Our OAEP and PSS, checked against .NET (where it can) and BouncyCastle (labels, any salt).</summary>
public sealed class RsaPublicKeyOperationsTests
{
    private static readonly RSA Key = RSA.Create(2048);
    private static readonly RSAParameters Public = Key.ExportParameters(false);
    private static readonly RSAParameters Private = Key.ExportParameters(true);

    [Theory]
    [InlineData(TpmAlgId.Sha1)]
    [InlineData(TpmAlgId.Sha256)]
    [InlineData(TpmAlgId.Sha384)]
    [InlineData(TpmAlgId.Sha512)]
    public void OaepEncrypt_EmptyLabel_DotNetDecrypts(TpmAlgId hash)
    {
        var message = RandomNumberGenerator.GetBytes(32);
        var padding = RSAEncryptionPadding.CreateOaep(Structures.TpmHash.Name(hash));

        var cipher = RsaPublicKeyOperations.OaepEncrypt(Public.Modulus, RsaPublicKeyOperations.Exponent(Public.Exponent), hash, [], message);

        Assert.Equal(256, cipher.Length);
        Assert.Equal(message, Key.Decrypt(cipher, padding));
    }

    [Fact]
    public void OaepEncrypt_IdentityLabel_BouncyCastleDecryptsWithThatLabelOnly()
    {
        var message = RandomNumberGenerator.GetBytes(32);
        var label = Encoding.ASCII.GetBytes("IDENTITY\0");

        var cipher = RsaPublicKeyOperations.OaepEncrypt(Public.Modulus, 65537, TpmAlgId.Sha256, label, message);

        Assert.Equal(message, BcDecrypt(cipher, label));
        Assert.ThrowsAny<Exception>(() => BcDecrypt(cipher, Encoding.ASCII.GetBytes("STORAGE\0")));
    }

    [Fact]
    public void OaepEncrypt_MessageTooLong_Refused()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            RsaPublicKeyOperations.OaepEncrypt(Public.Modulus, 65537, TpmAlgId.Sha512, [], new byte[127]));
        Assert.Equal("a 2048-bit RSA key takes at most 126 bytes with OAEP and sha512", e.Message);
    }

    [Fact]
    public void OaepEncrypt_SameInput_DifferentCiphertexts()
    {
        var a = RsaPublicKeyOperations.OaepEncrypt(Public.Modulus, 65537, TpmAlgId.Sha256, [], [1, 2, 3]);
        var b = RsaPublicKeyOperations.OaepEncrypt(Public.Modulus, 65537, TpmAlgId.Sha256, [], [1, 2, 3]);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(32)]
    [InlineData(222)] // the largest salt a 2048-bit key with SHA-256 fits: 256 - 32 - 2
    public void PssVerify_AnySaltLength_AcceptsAndRejectsTampering(int saltLength)
    {
        var data = RandomNumberGenerator.GetBytes(100);
        var hash = SHA256.HashData(data);
        var signer = new PssSigner(new RsaEngine(), new Sha256Digest(), saltLength);
        signer.Init(true, new ParametersWithRandom(BcPrivateKey(), new SecureRandom()));
        signer.BlockUpdate(data, 0, data.Length);
        var signature = signer.GenerateSignature();

        Assert.True(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha256, hash, signature));
        signature[^5] ^= 1;
        Assert.False(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha256, hash, signature));
    }

    [Fact]
    public void PssVerify_DotNetSignature_AcceptedOtherDataRejected()
    {
        var data = RandomNumberGenerator.GetBytes(64);
        var signature = Key.SignData(data, HashAlgorithmName.SHA384, RSASignaturePadding.Pss);

        Assert.True(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha384, SHA384.HashData(data), signature));
        Assert.False(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha384, SHA384.HashData([1]), signature));
        Assert.False(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha256, SHA256.HashData(data), signature));
    }

    [Fact]
    public void PssVerify_Pkcs1Signature_Rejected()
    {
        var data = RandomNumberGenerator.GetBytes(64);
        var signature = Key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.False(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha256, SHA256.HashData(data), signature));
    }

    [Fact]
    public void PssVerify_SignatureNotBelowModulus_Rejected()
    {
        var tooBig = Enumerable.Repeat((byte)0xFF, 256).ToArray();
        Assert.False(RsaPublicKeyOperations.PssVerify(Public.Modulus, 65537, TpmAlgId.Sha256, new byte[32], tooBig));
    }

    private static byte[] BcDecrypt(byte[] cipher, byte[] label)
    {
        var oaep = new OaepEncoding(new RsaEngine(), new Sha256Digest(), new Sha256Digest(), label);
        oaep.Init(false, BcPrivateKey());
        return oaep.ProcessBlock(cipher, 0, cipher.Length);
    }

    private static RsaPrivateCrtKeyParameters BcPrivateKey()
    {
        static BcBigInteger B(byte[] v) => new(1, v);
        return new RsaPrivateCrtKeyParameters(B(Private.Modulus!), B(Private.Exponent!), B(Private.D!), B(Private.P!), B(Private.Q!),
            B(Private.DP!), B(Private.DQ!), B(Private.InverseQ!));
    }
}
