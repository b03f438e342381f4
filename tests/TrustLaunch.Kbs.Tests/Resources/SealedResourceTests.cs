using System.Security.Cryptography;
using TrustLaunch.Hsm;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Tests.Resources;

/// <summary>A resource at rest: AES-256-GCM under a data key of its own, the data key wrapped in the HSM.</summary>
public sealed class SealedResourceTests(WrapKeyFixture keys) : IClassFixture<WrapKeyFixture>
{
    private static readonly ResourcePath Path = ResourcePath.Parse("default/key/1");
    private static readonly byte[] Secret = "the image key, 32 bytes long...."u8.ToArray();

    [Fact]
    public void Seal_ThenOpen_SameBytesNoPlaintextStored()
    {
        var sealedResource = SealedResource.Seal(Path, Secret, keys.Wrapper);

        Assert.Equal(Secret, sealedResource.Open(Path, keys.Wrapper));
        Assert.DoesNotContain(Convert.ToHexString(Secret), Convert.ToHexString([.. sealedResource.WrappedKey, .. sealedResource.Ciphertext]), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RowMovedToAnotherPath_Refused()
    {
        var sealedResource = SealedResource.Seal(Path, Secret, keys.Wrapper);

        var e = Assert.Throws<CryptographicException>(() => sealedResource.Open(ResourcePath.Parse("default/key/2"), keys.Wrapper));

        Assert.Equal("resource default/key/2: the stored ciphertext does not authenticate (altered, or moved from another path)", e.Message);
    }

    [Fact]
    public void Open_CiphertextAltered_Refused()
    {
        var sealedResource = SealedResource.Seal(Path, Secret, keys.Wrapper);
        sealedResource.Ciphertext[0] ^= 1;

        var e = Assert.Throws<CryptographicException>(() => sealedResource.Open(Path, keys.Wrapper));

        Assert.Equal("resource default/key/1: the stored ciphertext does not authenticate (altered, or moved from another path)", e.Message);
    }

    [Fact]
    public void Open_DataKeyWrappedByAnotherHsmKey_Refused()
    {
        var sealedResource = SealedResource.Seal(Path, Secret, keys.Other);

        var e = Assert.Throws<CryptographicException>(() => sealedResource.Open(Path, keys.Wrapper));

        Assert.StartsWith($"the data key does not unwrap with {keys.Wrapper.KeyName}: ", e.Message);
    }

    [Fact]
    public void Open_KeyWithoutEncryptUsage_RefusedNamingTheUsage()
    {
        var e = Assert.Throws<HsmException>(() => keys.Open("wrap-only"));

        Assert.Contains("cannot wrap resource keys: it needs an AES-256 key of usage encrypt", e.Message, StringComparison.Ordinal);
    }
}
