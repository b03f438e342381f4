using System.Diagnostics;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Transport;

namespace TrustLaunch.Tpm.Tests.Transport;

/// <summary>A TPM device that never answers must not hold the TPM forever: the command fails by name and the lock is free.</summary>
public sealed class DeviceTransportTimeoutTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Transmit_DeviceNeverAnswers_FailsNamingTheCommandWithinTheTimeout()
    {
        using var terminal = await SilentTerminal.StartAsync();
        using var device = new TpmDevice(new DeviceTransport(terminal.Path, TimeSpan.FromSeconds(1)));
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<TpmTransportException>(() =>
            device.QuoteAsync(0x81010001, new byte[16], PcrSelection.ParseList("sha256:0")).WaitAsync(Bound));

        Assert.Equal($"TPM at device:{terminal.Path} did not answer TPM2_Quote within 1 s", e.Message);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), Bound);
    }

    [Fact]
    public async Task Transmit_AfterATimeout_TheNextCommandIsSentNotQueuedBehindIt()
    {
        using var terminal = await SilentTerminal.StartAsync();
        using var device = new TpmDevice(new DeviceTransport(terminal.Path, TimeSpan.FromMilliseconds(500)));
        await Assert.ThrowsAsync<TpmTransportException>(() => device.GetRandomAsync(8).WaitAsync(Bound));

        // Had the first command kept the TPM lock, this one would wait for it instead of failing on its own.
        var e = await Assert.ThrowsAsync<TpmTransportException>(() => device.ReadPcrsAsync(PcrSelection.ParseList("sha256:0")).WaitAsync(Bound));

        Assert.Equal($"TPM at device:{terminal.Path} did not answer TPM2_PcrRead within 0.5 s", e.Message);
    }
}
