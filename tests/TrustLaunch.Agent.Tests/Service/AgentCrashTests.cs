using System.Net;
using System.Net.Http.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Service;

/// <summary>Runs alone: it sets the agent's fault-injection variable, which every child process would inherit.</summary>
[CollectionDefinition(nameof(AgentCrashCollection), DisableParallelization = true)]
public sealed class AgentCrashCollection;

/// <summary>A real agent process killed mid-append, and a PCR extended behind the log's back.</summary>
[Collection(nameof(AgentCrashCollection))]
[Trait("Category", "Slow")]
public sealed class AgentCrashTests : IAsyncLifetime
{
    private readonly AgentDeployment _node = new();

    public Task InitializeAsync() => _node.InitializeAsync();

    public Task DisposeAsync() => _node.DisposeAsync();

    [Fact]
    public async Task Measure_KilledBetweenLogWriteAndExtend_ReconciledOnRestart()
    {
        await _node.StartAgentAsync();
        await _node.MeasureAsync(LaunchEvents.ContainerStarted, "{\"container\":\"before\"}");
        await _node.Agent!.StopAsync();
        Environment.SetEnvironmentVariable(AgentHost.FaultVariable, AgentHost.KillAfterLogWrite);
        try
        {
            await _node.StartAgentAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable(AgentHost.FaultVariable, null);
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _node.PostMeasureAsync(LaunchEvents.ContainerStarted, "{\"container\":\"lost\"}"));
        await _node.Agent.KillAsync();
        await _node.StartAgentAsync();
        var nonce = new byte[] { 7, 7, 7 };
        using var response = await _node.GetQuoteAsync(nonce);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var evidence = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence))!;
        var record = Assert.Single(evidence.Events);
        Assert.Equal("trustlaunch ContainerStarted {\"container\":\"before\"}", record.Content);
        var replay = EventLogReplay.Replay(evidence.Events, LaunchPcr.Default, Convert.FromHexString(Assert.Single(evidence.Pcrs).Value));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
        Assert.Contains($"record 1 was written but never extended into PCR {LaunchPcr.Default}: dropped", _node.Agent.ReadLog());
        Assert.True((await _node.GetInfoAsync()).Ready);
    }

    [Fact]
    public async Task Quote_PcrExtendedWhileAgentStopped_ServiceUnavailableWithReason()
    {
        await _node.StartAgentAsync();
        await _node.MeasureAsync(LaunchEvents.ContainerStarted, "{\"container\":\"c1\"}");
        await _node.Agent!.StopAsync();
        using (var tpm = _node.Swtpm.OpenDevice())
            await tpm.ExtendPcrAsync(LaunchPcr.Default, [(TrustLaunch.Tpm.TpmAlgId.Sha256, new byte[32])]);

        await _node.StartAgentAsync();
        using var response = await _node.GetQuoteAsync([1]);
        var info = await _node.GetInfoAsync();

        var problem = await Problems.ExpectAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(("launch log and PCR not reconciled", ProblemTypes.LogPcrDisagree), (problem.Title, problem.Type));
        Assert.StartsWith($"PCR {LaunchPcr.Default} does not match the event log: expected ", problem.Detail);
        Assert.EndsWith("; the PCR was extended outside the log or the log lost entries", problem.Detail);
        Assert.False(info.Ready);
        Assert.Equal(problem.Detail, info.NotReadyReason);
    }
}
