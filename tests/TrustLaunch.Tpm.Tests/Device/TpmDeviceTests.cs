using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Tests.Device;

public sealed class TpmDeviceTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    [Fact]
    public async Task ExtendPcr_ThenTpm2PcrRead_ShowsTheSameValue()
    {
        using var device = tpm.OpenDevice();
        var digest = SHA256.HashData("hello"u8);
        var before = await device.ReadPcrsAsync(PcrSelection.ParseList("sha256:12"));
        await device.ExtendPcrAsync(12, [(TpmAlgId.Sha256, digest)]);

        var expected = SHA256.HashData([.. before[TpmAlgId.Sha256, 12], .. digest]);
        var ours = await device.ReadPcrsAsync(PcrSelection.ParseList("sha256:12"));
        Assert.Equal(expected, ours[TpmAlgId.Sha256, 12]);

        var theirs = await tpm.Tpm2Async("tpm2_pcrread", "sha256:12");
        Assert.Contains("0x" + Convert.ToHexString(expected), theirs.StandardOutput);
    }

    [Fact]
    public async Task GetRandom_ReturnsRequestedLength()
    {
        using var device = tpm.OpenDevice();
        var bytes = await device.GetRandomAsync(100);
        Assert.Equal(100, bytes.Length);
        Assert.NotEqual(new byte[100], bytes);
    }

    [Fact]
    public async Task GetInfo_Swtpm_ReportsIbmAndBothBanks()
    {
        using var device = tpm.OpenDevice();
        var info = await device.GetInfoAsync();
        Assert.Equal("IBM", info.Manufacturer);
        Assert.Contains("sha256", info.Algorithms);
        Assert.Contains("ecdsa", info.Algorithms);
        Assert.Equal([TpmAlgId.Sha1, TpmAlgId.Sha256], info.PcrBanks.Select(b => b.Bank));
        Assert.Equal(24, info.PcrBanks[1].Pcrs.Count);
    }
}
