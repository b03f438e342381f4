using TrustLaunch.Agent.Tpm;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run --standalone</c>: no agent, the launcher measures into its own launch log and the launch PCR of
/// a private swtpm; the log must replay to the PCR however many launcher processes (runs, detached monitors) took turns.
/// </summary>
[Trait("Category", "Slow")]
public sealed class StandaloneRunTests(ImageRegistryFixture registry, StandaloneNodeFixture node)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<StandaloneNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", _scratch["data"], "--standalone", "--launch-log", node.LaunchLog, "--tpm", node.Swtpm.Tcti, .. args]);

    private async Task<(string Reference, string TrustedKey)> PublishAsync(string repository)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, pub);
    }

    [Fact]
    public async Task Run_StandaloneAttached_LogReplaysToThePcrWithEveryStep()
    {
        var (reference, trusted) = await PublishAsync("standalone/attached");
        var since = node.ReadLog().Count;

        var run = await Tl("run", reference, "--trust", trusted, "--name", "solo", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");

        Assert.Equal((0, "hello from image A\n", ""), (run.ExitCode, run.Stdout, run.Stderr));
        var log = node.ReadLog();
        await node.AssertReplaysToPcrAsync(log);
        Assert.Equal(
            [LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped],
            log.Skip(since).Select(r => EventLine.Parse(r.Content).Operation));
    }

    [Fact]
    public async Task Run_StandaloneDetachedInParallelThenRmForce_MonitorsTakeTurnsAndStoppedPrecedesDeleted()
    {
        var (reference, trusted) = await PublishAsync("standalone/detached");
        var names = Enumerable.Range(1, 3).Select(i => $"bg{i}").ToList();

        var runs = await Task.WhenAll(names.Select(n => Tl("run", reference, "--trust", trusted, "--name", n, "--", "/bin/busybox", "sleep", "60")));
        var removals = await Task.WhenAll(names.Select(n => Tl("rm", n, "--force")));

        Assert.All(runs, r => Assert.Equal((0, ""), (r.ExitCode, r.Stderr)));
        Assert.All(removals, r => Assert.Equal((0, ""), (r.ExitCode, r.Stderr)));
        var log = node.ReadLog();
        await node.AssertReplaysToPcrAsync(log);
        foreach (var name in names)
        {
            var events = log.Select(r => EventLine.Parse(r.Content))
                .Where(e => e.Content.TryGetProperty("container", out var c) && c.GetString() == name).ToList();
            Assert.Equal([LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
                events.Select(e => e.Operation));
            Assert.Equal(137, events[2].Content.GetProperty("exit_code").GetInt32());
        }
    }

    [Fact]
    public async Task Run_StandaloneWithAgentSocket_RefusedAsUsage()
    {
        var run = await Tl("run", "127.0.0.1:1/none:v1", "--agent-socket", _scratch["agent.sock"]);

        Assert.Equal((2, "error: --standalone measures without an agent: drop --agent-socket, or --standalone to measure through the agent\n"), (run.ExitCode, run.Stderr));
    }
}

/// <summary>A private swtpm and the standalone launch log its launch PCR belongs to, shared by a test class.</summary>
public sealed class StandaloneNodeFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-standalone-").FullName;

    public SwtpmFixture Swtpm { get; } = new();

    public string LaunchLog => Path.Combine(_directory, "launch-log");

    /// <summary>The committed records, read by opening the log as its writer would (no launcher may be measuring).</summary>
    public IReadOnlyList<CelRecord> ReadLog()
    {
        if (!Directory.Exists(LaunchLog))
            return [];
        using var log = EventLog.Open(LaunchLog);
        return log.ReadFrom(0);
    }

    public async Task AssertReplaysToPcrAsync(IReadOnlyList<CelRecord> records)
    {
        using var device = Swtpm.OpenDevice();
        var replay = EventLogReplay.Replay(records, LaunchPcr.Default, await device.ReadSha256PcrAsync(LaunchPcr.Default, CancellationToken.None));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
    }

    public Task InitializeAsync() => Swtpm.InitializeAsync();

    public async Task DisposeAsync()
    {
        await Swtpm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
