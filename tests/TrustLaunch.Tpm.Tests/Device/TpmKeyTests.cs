using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Tests.Device;

public sealed class TpmKeyTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    [Theory]
    [InlineData(TpmAlgId.Ecc)]
    [InlineData(TpmAlgId.Rsa)]
    public async Task CreateAk_RestrictedSigningKey_NameMatchesPublicArea(TpmAlgId type)
    {
        using var device = tpm.OpenDevice();
        var ak = await device.CreateAkAsync(type);
        try
        {
            Assert.Equal(type, ak.Public.Type);
            Assert.Equal(TpmTemplates.AkAttributes, ak.Public.Attributes);
            Assert.Equal(0x00050072u, (uint)ak.Public.Attributes);
            Assert.Equal(ak.Name, ak.Public.ComputeName());
            var read = await device.ReadPublicAsync(ak.Handle);
            Assert.Equal(ak.Public.ToTpm2bPublic(), read.Public.ToTpm2bPublic());
            Assert.Equal(ak.Name, read.Name);
        }
        finally
        {
            await device.FlushContextAsync(ak.Handle);
        }
    }

    [Fact]
    public async Task Persist_ThenReadAndEvict_SameKeyAtPersistentHandle()
    {
        const uint handle = 0x8101_0F00;
        using var device = tpm.OpenDevice();
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc);
        await device.PersistAsync(ak.Handle, handle);
        await device.FlushContextAsync(ak.Handle);

        Assert.Contains(handle, await device.GetHandlesAsync(TpmHandles.PersistentFirst));
        Assert.Equal(ak.Name, (await device.ReadPublicAsync(handle)).Name);
        var tools = await tpm.Tpm2Async("tpm2_readpublic", "-c", "0x81010F00");
        Assert.Contains("name: " + Convert.ToHexString(ak.Name).ToLowerInvariant(), tools.StandardOutput);

        await device.EvictAsync(handle);
        Assert.DoesNotContain(handle, await device.GetHandlesAsync(TpmHandles.PersistentFirst));
    }

    [Fact]
    public async Task Persist_HandleInUse_TpmNvDefined()
    {
        using var device = tpm.OpenDevice();
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc);
        try
        {
            var e = await Assert.ThrowsAsync<TpmException>(() => device.PersistAsync(ak.Handle, SwtpmFixture.PersistentRsaEk));
            Assert.Equal("TPM2_EvictControl failed: TPM_RC_NV_DEFINED (0x0000014C)", e.Message);
        }
        finally
        {
            await device.FlushContextAsync(ak.Handle);
        }
    }

    [Fact]
    public async Task ReadPublic_NoSuchHandle_TpmRcHandleOnHandle1()
    {
        using var device = tpm.OpenDevice();
        var e = await Assert.ThrowsAsync<TpmException>(() => device.ReadPublicAsync(0x8100_0FFF));
        Assert.Equal("TPM2_ReadPublic failed: TPM_RC_HANDLE on handle 1 (0x0000018B)", e.Message);
    }

    [Fact]
    public async Task Certify_AkCertifiesItself_AttestNamesTheKeyAndVerifies()
    {
        using var device = tpm.OpenDevice();
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(20);
            var signed = await device.CertifyAsync(ak.Handle, ak.Handle, nonce);
            var attest = TpmAttest.Parse(signed.Attest);
            Assert.Equal(TpmSt.AttestCertify, attest.Type);
            Assert.Equal(ak.Name, attest.CertifiedName);
            Assert.Equal(nonce, attest.ExtraData);

            using var key = (ECDsa)ak.Public.ToAsymmetricAlgorithm();
            byte[] rs = [.. signed.Signature.R, .. signed.Signature.S];
            Assert.True(key.VerifyData(signed.Attest, rs, HashAlgorithmName.SHA256));
        }
        finally
        {
            await device.FlushContextAsync(ak.Handle);
        }
    }

    [Fact]
    public async Task ExtendPcr_WrongDigestSize_RefusedBeforeSending()
    {
        using var device = tpm.OpenDevice();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => device.ExtendPcrAsync(12, [(TpmAlgId.Sha256, new byte[20])]));
        Assert.Equal("a sha256 digest is 32 bytes, got 20", e.Message);
    }

    [Fact]
    public async Task Commands_InParallelOnOneDevice_AllAnsweredInTurn()
    {
        using var device = tpm.OpenDevice();
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => device.GetRandomAsync(32)));
        Assert.All(results, r => Assert.Equal(32, r.Length));
        Assert.Equal(32, results.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public async Task CreateSrk_Twice_SameKeyFromTheOwnerSeed()
    {
        using var device = tpm.OpenDevice();
        var first = await device.CreateSrkAsync();
        var second = await device.CreateSrkAsync();
        await device.FlushContextAsync(first.Handle);
        await device.FlushContextAsync(second.Handle);
        Assert.Equal(first.Name, second.Name);
        Assert.True(first.Public.Attributes.HasFlag(TpmaObject.Restricted | TpmaObject.Decrypt));
        Assert.Equal(32, first.Public.Ecc!.X.Length);
    }

    [Fact]
    public async Task Quote_AkInEndorsementHierarchy_ClockInfoNotObfuscated()
    {
        using var device = tpm.OpenDevice();
        var ak = await device.CreateAkAsync(TpmAlgId.Rsa);
        var selection = PcrSelection.ParseList("sha256:0");
        var first = TpmAttest.Parse((await device.QuoteAsync(ak.Handle, [1], selection)).Attest);
        var second = TpmAttest.Parse((await device.QuoteAsync(ak.Handle, [2], selection)).Attest);
        await device.FlushContextAsync(ak.Handle);
        // swtpm_setup power-cycled the state a few times; obfuscated counts would be large random-looking numbers.
        Assert.InRange(first.ClockInfo.ResetCount, 0u, 16u);
        Assert.Equal(first.ClockInfo.ResetCount, second.ClockInfo.ResetCount);
        Assert.True(second.ClockInfo.Clock >= first.ClockInfo.Clock);
        Assert.True(first.ClockInfo.Safe);
    }
}
