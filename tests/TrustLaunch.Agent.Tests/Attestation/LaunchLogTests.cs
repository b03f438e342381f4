using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Measurement;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Agent.Tests.Attestation;

/// <summary>
/// The launch log bound to a real swtpm. Each test uses its own launch PCR (all start at zero and only grow), so tests
/// of one class never see each other's extends.
/// </summary>
public sealed class LaunchLogTests(AgentTpmFixture agent) : IClassFixture<AgentTpmFixture>, IDisposable
{
    private const string AgentId = "5d0c2b43-6f3e-4c55-9b1e-0a7f1f6e2a10";
    private readonly string _logDirectory = Directory.CreateTempSubdirectory("trustlaunch-agent-log-").FullName;

    [Fact]
    public async Task QuoteAsync_AfterMeasurements_VerifiesAndEventsReplayToQuotedPcr()
    {
        using var log = await OpenAsync(pcr: 8);
        var measured = await log.MeasureAsync(LaunchEvents.ContainerStarted, Content("{\"container\":\"c1\"}"), CancellationToken.None);
        await log.MeasureAsync(LaunchEvents.ContainerStopped, Content("{\"exit_code\":0,\"container\":\"c1\"}"), CancellationToken.None);
        var nonce = "0123456789abcdef"u8.ToArray();

        var evidence = await log.QuoteAsync(agent.Tpm.Keys, AgentId, new QuoteQuery(nonce, [0, 8], 0), CancellationToken.None);

        Assert.Equal(0, measured.Record.RecNum);
        Assert.Equal("trustlaunch ContainerStarted {\"container\":\"c1\"}", measured.Record.Content);
        var pcrValues = evidence.Pcrs.SelectMany(p => Convert.FromHexString(p.Value)).ToArray();
        using var ak = agent.Tpm.Keys.AkPublic.ToAsymmetricAlgorithm();
        var verified = QuoteVerifier.Verify(ak, evidence.Quoted, evidence.Signature, pcrValues, nonce);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal([0, 8], evidence.Pcrs.Select(p => p.Index));
        Assert.Equal(2, evidence.Events.Count);
        Assert.Equal(2, evidence.LogLength);
        var replay = EventLogReplay.Replay(evidence.Events, 8, Convert.FromHexString(evidence.Pcrs[1].Value));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
        Assert.Equal(verified.Attest!.ClockInfo.ResetCount, evidence.ResetCount);
        Assert.Equal(verified.Attest.ClockInfo.RestartCount, evidence.RestartCount);
        Assert.Equal(0, evidence.BootCount);
    }

    [Fact]
    public async Task QuoteAsync_Since_ReturnsOnlyLaterEvents()
    {
        using var log = await OpenAsync(pcr: 9);
        for (var i = 0; i < 3; i++)
            await log.MeasureAsync(LaunchEvents.ContainerDeleted, Content($"{{\"container\":\"c{i}\"}}"), CancellationToken.None);

        var evidence = await log.QuoteAsync(agent.Tpm.Keys, AgentId, new QuoteQuery([1], [9], 2), CancellationToken.None);

        Assert.Equal(2, evidence.EventsFrom);
        Assert.Equal(2, Assert.Single(evidence.Events).RecNum);
        Assert.Equal(3, evidence.LogLength);
    }

    [Fact]
    public async Task QuoteAsync_PcrExtendedBehindTheLog_RefusedWithReason()
    {
        using var log = await OpenAsync(pcr: 10);
        await log.MeasureAsync(LaunchEvents.ContainerStarted, Content("{\"container\":\"c1\"}"), CancellationToken.None);
        var expected = Convert.ToHexStringLower(log.ReadFrom(0).Aggregate(new byte[32], (pcr, r) => EventLogReplay.Extend(pcr, Convert.FromHexString(r.Digests[0].Digest))));
        await agent.Tpm.Device.ExtendSha256PcrAsync(10, new byte[32], CancellationToken.None);
        var actual = Convert.ToHexStringLower(await agent.Tpm.Device.ReadSha256PcrAsync(10, CancellationToken.None));

        var e = await Assert.ThrowsAsync<LaunchLogNotReadyException>(() => log.QuoteAsync(agent.Tpm.Keys, AgentId, new QuoteQuery([1], [10], 0), CancellationToken.None));

        var reason = $"PCR 10 is {actual} but the log's 1 records replay to {expected}: the PCR was extended outside the agent";
        Assert.Equal(reason, e.Message);
        Assert.Equal(reason, log.NotReadyReason);
        var measure = await Assert.ThrowsAsync<LaunchLogNotReadyException>(() => log.MeasureAsync(LaunchEvents.ContainerStarted, Content("{\"container\":\"c2\"}"), CancellationToken.None));
        Assert.Equal(reason, measure.Message);
    }

    [Fact]
    public async Task OpenAsync_PcrExtendedWhileStopped_NotReadyWithReconcileReason()
    {
        using (var log = await OpenAsync(pcr: 11))
            await log.MeasureAsync(LaunchEvents.ContainerStarted, Content("{\"container\":\"c1\"}"), CancellationToken.None);
        await agent.Tpm.Device.ExtendSha256PcrAsync(11, new byte[32], CancellationToken.None);

        using var reopened = await OpenAsync(pcr: 11);

        Assert.StartsWith("PCR 11 does not match the event log: expected ", reopened.NotReadyReason);
        Assert.EndsWith("; the PCR was extended outside the log or the log lost entries", reopened.NotReadyReason);
        var e = await Assert.ThrowsAsync<LaunchLogNotReadyException>(() => reopened.QuoteAsync(agent.Tpm.Keys, AgentId, new QuoteQuery([1], [11], 0), CancellationToken.None));
        Assert.Equal(reopened.NotReadyReason, e.Message);
    }

    [Fact]
    public async Task MeasureAndQuote_Concurrent_EveryQuoteMatchesItsEvents()
    {
        using var log = await OpenAsync(pcr: 12);
        using var ak = agent.Tpm.Keys.AkPublic.ToAsymmetricAlgorithm();
        var measures = Enumerable.Range(0, 12).Select(i =>
            log.MeasureAsync(LaunchEvents.ContainerStarted, Content($"{{\"container\":\"c{i}\"}}"), CancellationToken.None));
        // 16-byte nonces: the verifier refuses shorter ones.
        var quotes = Enumerable.Range(1, 6).Select(i => Enumerable.Repeat((byte)i, 16).ToArray())
            .Select(nonce => (Nonce: nonce, Quote: log.QuoteAsync(agent.Tpm.Keys, AgentId, new QuoteQuery(nonce, [12], 0), CancellationToken.None))).ToList();

        await Task.WhenAll(measures);
        foreach (var (nonce, quote) in quotes)
        {
            var evidence = await quote;
            var value = Convert.FromHexString(Assert.Single(evidence.Pcrs).Value);
            Assert.True(QuoteVerifier.Verify(ak, evidence.Quoted, evidence.Signature, value, nonce).IsValid);
            var replay = EventLogReplay.Replay(evidence.Events, 12, value);
            Assert.True(replay.IsValid, replay.Failure?.Reason);
            Assert.Equal(evidence.LogLength, evidence.Events.Count);
        }
        Assert.Equal(12, log.Length);
    }

    private Task<LaunchLog> OpenAsync(int pcr) =>
        LaunchLog.OpenAsync(agent.Tpm.Device, _logDirectory, pcr, NullLogger.Instance, CancellationToken.None);

    private static JsonElement Content(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public void Dispose() => Directory.Delete(_logDirectory, recursive: true);
}
