using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Launches under load and across agent crashes, against real processes (registrar, agent on its own swtpm, verifier
/// polling every 0.3 s): afterwards the agent's log replays to the launch PCR it quotes, and the verifier, which has
/// checked every event, still says Attested.
/// </summary>
[Trait("Category", "Slow")]
public sealed class AttestedLaunchTests(ImageRegistryFixture registry, EnrolledNodeFixture enrolled)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<EnrolledNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private AttestedNodeFixture Node => enrolled.Node;

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", _scratch["data"], "--agent-socket", Node.Deployment.SocketPath, .. args]);

    private async Task<string> PublishAsync(string repository)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", enrolled.PublisherKey, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return image.Reference;
    }

    [Fact]
    public async Task Run_TenInParallel_EachOutputItsOwnLogReplaysToPcrNodeAttested()
    {
        var reference = await PublishAsync("parallel/app");
        var names = Enumerable.Range(0, 10).Select(i => $"par{i}").ToList();

        var runs = await Task.WhenAll(names.Select(n =>
            Tl("run", reference, "--trust", enrolled.PublisherPublicKey, "--name", n, "--attach", "--", "/bin/busybox", "echo", $"output of {n}")));
        var removals = await Task.WhenAll(names.Select(n => Tl("rm", n)));

        Assert.Equal(names.Select(n => (0, $"output of {n}\n", "")), runs.Select(r => (r.ExitCode, r.Stdout, r.Stderr)));
        Assert.All(removals, r => Assert.Equal((0, ""), (r.ExitCode, r.Stderr)));
        var log = await QuotedLogAsync();
        foreach (var name in names)
        {
            Assert.Equal(
                [LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
                log.Select(r => EventLine.Parse(r.Content)).Where(e => e.Content.TryGetProperty("container", out var c) && c.GetString() == name).Select(e => e.Operation));
        }
        await enrolled.AssertAttestedThroughAsync(log.Count);
    }

    [Fact]
    public async Task Run_AgentKilledAndRestartedBetweenLaunches_LogContinuesReplaysToPcrNodeAttested()
    {
        var reference = await PublishAsync("restart/app");
        var before = await Tl("run", reference, "--trust", enrolled.PublisherPublicKey, "--name", "before", "--attach", "--", "/bin/busybox", "true");
        var beforeLength = (await QuotedLogAsync()).Count;

        await Node.Deployment.Agent!.KillAsync();
        await Node.Deployment.StartAgentAsync();
        var after = await Tl("run", reference, "--trust", enrolled.PublisherPublicKey, "--name", "after", "--attach", "--", "/bin/busybox", "true");
        (await Tl("rm", "before")).EnsureSuccess();
        (await Tl("rm", "after")).EnsureSuccess();

        Assert.Equal((0, 0), (before.ExitCode, after.ExitCode));
        var log = await QuotedLogAsync();
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), log.Select(r => r.RecNum));
        var afterRestart = log.Skip(beforeLength).Select(r => EventLine.Parse(r.Content).Operation).ToList();
        Assert.Equal(
            [LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped,
                LaunchEvents.ContainerDeleted, LaunchEvents.ContainerDeleted],
            afterRestart);
        await enrolled.AssertAttestedThroughAsync(log.Count);
    }

    /// <summary>The whole log as the agent quotes it, checked against the launch PCR's value in that quote (read from the swtpm).</summary>
    private async Task<IReadOnlyList<CelRecord>> QuotedLogAsync()
    {
        using var response = await Node.Deployment.GetQuoteAsync("parallel-launch"u8.ToArray(), pcrs: LaunchPcr.Default.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.EnsureSuccessStatusCode();
        var evidence = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence))!;
        var replay = EventLogReplay.Replay(evidence.Events, LaunchPcr.Default, Convert.FromHexString(Assert.Single(evidence.Pcrs).Value));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
        Assert.Equal(evidence.LogLength, evidence.Events.Count);
        // Nothing is launching now: the PCR read straight from the swtpm is the quoted one.
        using var tpm = Node.Deployment.Swtpm.OpenDevice();
        Assert.Equal(Assert.Single(evidence.Pcrs).Value, Convert.ToHexStringLower(await tpm.ReadSha256PcrAsync(LaunchPcr.Default, CancellationToken.None)));
        return evidence.Events;
    }
}

/// <summary>An <see cref="AttestedNodeFixture"/> whose agent is under policy 'prod', which trusts one publisher key.</summary>
public sealed class EnrolledNodeFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-enrolled-").FullName;

    public AttestedNodeFixture Node { get; } = new();
    public string PublisherKey => Path.Combine(_directory, "publisher.pem");
    public string PublisherPublicKey => Path.Combine(_directory, "publisher.pub.pem");

    public async Task InitializeAsync()
    {
        await Node.InitializeAsync();
        ImageRegistryFixture.WriteKeyPair(_directory, "publisher");
        string keyId;
        using (var verifier = PemPayloadVerifier.FromFile(PublisherPublicKey))
            keyId = verifier.KeyId;
        var policy = Path.Combine(_directory, "prod.json");
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string> { [keyId] = PublisherPublicKey },
            [], [keyId], [], LaunchPcr.Default, new Dictionary<int, string>()),
            ContractsJsonContext.Default.PolicyDocument));
        (await Tenant("policy", "add", policy)).EnsureSuccess();
        (await Tenant("agent", "add", Node.Deployment.AgentId, "--policy", "prod")).EnsureSuccess();
        await WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested);
    }

    /// <summary>Waits until the verifier has checked <paramref name="events"/> events, then asserts the node is Attested.</summary>
    public async Task AssertAttestedThroughAsync(long events)
    {
        var status = await WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= events);
        Assert.Equal(AgentStates.Attested, status.GetProperty("state").GetString());
    }

    private Task<CliResult> Tenant(params string[] args) => Node.TenantAsync(args);

    private Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> done) => Node.WaitForStatusAsync(done);

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
