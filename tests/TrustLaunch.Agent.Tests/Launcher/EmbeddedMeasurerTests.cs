using System.Text.Json;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Launcher;

/// <summary>
/// Standalone measurement on a real swtpm. Measurers opened separately take turns as separate processes would (the
/// flock belongs to each open file). Each test uses its own launch PCR, all starting at zero.
/// </summary>
[Trait("Category", "Slow")]
public sealed class EmbeddedMeasurerTests(SwtpmFixture swtpm) : IClassFixture<SwtpmFixture>, IDisposable
{
    private readonly string _logDirectory = Directory.CreateTempSubdirectory("trustlaunch-embedded-log-").FullName;

    [Fact]
    public async Task MeasureAsync_FourMeasurersInParallel_EveryEventCommittedOnceAndLogReplaysToPcr()
    {
        const int pcr = 14;
        var measurers = Enumerable.Range(0, 4).Select(IMeasurer (_) => new EmbeddedMeasurer(swtpm.Tcti, _logDirectory, pcr)).ToList();

        var measured = await Task.WhenAll(measurers.SelectMany((m, i) => Enumerable.Range(0, 5).Select(j =>
            m.MeasureAsync(LaunchEvents.ContainerStarted, Content($"{{\"container\":\"c{i}-{j}\"}}"), null))));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), measured.Select(e => e.Record.RecNum).Order());
        using var log = EventLog.Open(_logDirectory, pcr);
        var records = log.ReadFrom(0);
        Assert.Equal(20, records.Count);
        using var device = swtpm.OpenDevice();
        var replay = EventLogReplay.Replay(records, pcr, await device.ReadSha256PcrAsync(pcr, CancellationToken.None));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
    }

    [Fact]
    public async Task MeasureAsync_LogHeldByAnotherWriter_RefusedAsAnAgentsLog()
    {
        const int pcr = 15;
        using var agentsLog = EventLog.Open(_logDirectory, pcr);
        using IMeasurer measurer = new EmbeddedMeasurer(swtpm.Tcti, _logDirectory, pcr);

        var e = await Assert.ThrowsAsync<IOException>(() => measurer.MeasureAsync(LaunchEvents.ContainerStarted, Content("{\"container\":\"c\"}"), null));

        Assert.Equal($"the launch log in {_logDirectory} is held by a running agent: measure through its socket (--agent-socket), not --standalone", e.Message);
    }

    private static JsonElement Content(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public void Dispose() => Directory.Delete(_logDirectory, recursive: true);
}
