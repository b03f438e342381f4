using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Tests.Device;

/// <summary>Owns its swtpm: these tests kill and power-cycle it.</summary>
public sealed class SwtpmRestartTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    [Fact]
    public async Task Command_SwtpmKilledThenRestarted_ClearErrorThenReconnects()
    {
        using var device = tpm.OpenDevice();
        await device.GetRandomAsync(16);

        await tpm.KillAsync();
        var e = await Assert.ThrowsAsync<TpmTransportException>(() => device.GetRandomAsync(16));
        Assert.StartsWith($"TPM at {tpm.Tcti} is unreachable or dropped the connection: ", e.Message);

        await tpm.RestartAsync();
        Assert.Equal(16, (await device.GetRandomAsync(16)).Length);
        // The restarted TPM kept its permanent state: the EK swtpm_setup persisted is still there.
        var ek = await device.ReadPublicAsync(SwtpmFixture.PersistentRsaEk);
        Assert.Equal(TpmAlgId.Rsa, ek.Public.Type);
    }

    [Fact]
    public async Task PowerCycle_ThenStartup_ResetCountGoesUpAndPcrsReset()
    {
        using var device = tpm.OpenDevice();
        await device.StartupAsync();
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc);
        var selection = PcrSelection.ParseList("sha256:10");
        await device.ExtendPcrAsync(10, [(TpmAlgId.Sha256, new byte[32])]);
        var before = TpmAttest.Parse((await device.QuoteAsync(ak.Handle, [1], selection)).Attest);

        await tpm.Control.InitAsync();
        await device.StartupAsync(TpmSu.Clear);

        // The transient AK is gone with the power; a new one quotes the fresh boot.
        await Assert.ThrowsAsync<TpmException>(() => device.ReadPublicAsync(ak.Handle));
        var ak2 = await device.CreateAkAsync(TpmAlgId.Ecc);
        var after = TpmAttest.Parse((await device.QuoteAsync(ak2.Handle, [2], selection)).Attest);
        await device.FlushContextAsync(ak2.Handle);

        Assert.Equal(before.ClockInfo.ResetCount + 1, after.ClockInfo.ResetCount);
        Assert.Equal(new byte[32], (await device.ReadPcrsAsync(selection))[TpmAlgId.Sha256, 10]);
    }
}
