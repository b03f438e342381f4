using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Jose.Tests;

public sealed class ConcatKdfTests
{
    [Fact]
    public void DeriveKey_Rfc7518AppendixC_MatchesPublishedKey()
    {
        using var alice = EcKey("gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0", "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps", "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo");
        using var bob = EcKey("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ", "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck", "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw");
        var z = alice.DeriveRawSecretAgreement(bob.PublicKey);
        Assert.Equal(new byte[] { 158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196 }, z);
        Assert.Equal(z, bob.DeriveRawSecretAgreement(alice.PublicKey));

        var key = ConcatKdf.DeriveKey(z, "A128GCM", Encoding.ASCII.GetBytes("Alice"), Encoding.ASCII.GetBytes("Bob"), 128);

        Assert.Equal("VqqN6vgjbSBcIijNcacQGg", Base64Url.EncodeToString(key));
    }

    [Fact]
    public void DeriveKey_MoreThanOneRound_SecondRoundUsesCounterTwo()
    {
        var z = RandomNumberGenerator.GetBytes(32);
        var key = ConcatKdf.DeriveKey(z, "X", [], [], 512);
        var otherInfo = new byte[] { 0, 0, 0, 1, (byte)'X', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 };
        var round2 = SHA256.HashData([0, 0, 0, 2, .. z, .. otherInfo]);
        Assert.Equal(round2, key[32..]);
    }

    internal static ECDiffieHellman EcKey(string x, string y, string d) => ECDiffieHellman.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = Base64Url.DecodeFromChars(x), Y = Base64Url.DecodeFromChars(y) },
        D = Base64Url.DecodeFromChars(d),
    });
}
