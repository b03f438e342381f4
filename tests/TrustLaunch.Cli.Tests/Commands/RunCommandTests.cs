using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run|ps|logs|stop|rm</c>: real crun containers from images in a loopback docker-registry, measured
/// through a real agent (its own swtpm, registered with a real registrar); every refusal exits 3 and is measured.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunCommandTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    /// <summary>Runs COMMAND with this test's data dir and agent; the options go first so they never land after <c>--</c>.</summary>
    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    /// <summary>Pushes <paramref name="layout"/> to a fresh repository and publishes its golden value with a new key.</summary>
    private async Task<(string Reference, string Digest, string TrustedKey)> PublishAsync(string repository, string? layout = null, string expires = "1d")
    {
        var image = await registry.PushAsync(layout ?? registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-" + repository.Replace('/', '-'));
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--expires", expires, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, image.ManifestDigest, pub);
    }

    private Task<IReadOnlyList<CelRecord>> EventsSinceAsync(long since) => agent.Deployment.ReadLogAsync(since);

    private async Task<long> LogLengthAsync() => (await agent.Deployment.GetInfoAsync()).LogLength;

    private static (string Operation, JsonElement Content) Parse(CelRecord record)
    {
        var line = EventLine.Parse(record.Content);
        return (line.Operation, line.Content);
    }

    [Fact]
    public async Task Run_Attached_GoldenValueMatches_OutputShownAndEveryStepMeasured()
    {
        var (reference, digest, trusted) = await PublishAsync("run/attached");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted, "--name", "hello", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        var rm = await Tl("rm", "hello");

        Assert.Equal((0, "hello from image A\n", ""), (run.ExitCode, run.Stdout, run.Stderr));
        rm.EnsureSuccess();
        var events = (await EventsSinceAsync(since)).Select(Parse).ToList();
        Assert.Equal(
            [LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
            events.Select(e => e.Operation));
        Assert.Equal(digest, events[1].Content.GetProperty("digest").GetString());
        Assert.Equal("local", events[1].Content.GetProperty("mode").GetString());
        Assert.Equal(digest, events[2].Content.GetProperty("digest").GetString());
        Assert.Equal("hello", events[2].Content.GetProperty("container").GetString());
        Assert.Equal(0, events[4].Content.GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task Run_Detached_PsStopRm_StateShownAndStopMeasured()
    {
        var (reference, _, trusted) = await PublishAsync("run/detached");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted, "--name", "sleeper", "--", "/bin/busybox", "sleep", "60");
        var running = (await Tl("ps", "--json")).EnsureSuccess().Json;
        // sleep runs as the container's pid 1, which ignores SIGTERM: stop escalates to SIGKILL after the timeout.
        var stop = await Tl("stop", "sleeper", "--timeout", "1");
        var stopped = (await Tl("ps", "--json")).EnsureSuccess().Json;
        var rm = await Tl("rm", "sleeper");
        var after = (await Tl("ps", "--json")).EnsureSuccess().Json;

        Assert.Equal((0, "sleeper\n"), (run.ExitCode, run.Stdout));
        Assert.Equal("running", running[0].GetProperty("status").GetString());
        Assert.Equal((0, "sleeper exited with 137\n"), (stop.ExitCode, stop.Stdout));
        Assert.Equal(137, stopped[0].GetProperty("exit_code").GetInt32());
        rm.EnsureSuccess();
        Assert.Equal(0, after.GetArrayLength());
        var events = (await EventsSinceAsync(since)).Select(Parse).ToList();
        Assert.Equal(LaunchEvents.ContainerStopped, events[^2].Operation);
        Assert.Equal(137, events[^2].Content.GetProperty("exit_code").GetInt32());
        Assert.Equal(LaunchEvents.ContainerDeleted, events[^1].Operation);
    }

    /// <summary>ps lists the node's containers with their pods: a run container carries the pod it was given, no pod name (that is kubelet's), source run.</summary>
    [Fact]
    public async Task Ps_RunContainer_ListedWithItsPodAndSourceRun()
    {
        var (reference, _, trusted) = await PublishAsync("run/pod");
        (await Tl("run", reference, "--trust", trusted, "--name", "member", "--pod", "pod-1", "--namespace", "ns-1", "--", "/bin/busybox", "sleep", "60")).EnsureSuccess();

        var json = (await Tl("ps", "--json")).EnsureSuccess().Json.EnumerateArray().Single();
        var text = (await Tl("ps")).EnsureSuccess().Stdout.Split('\n');
        (await Tl("rm", "member", "--force")).EnsureSuccess();

        Assert.Equal(("member", "pod-1", "ns-1", "", "run"), (json.GetProperty("name").GetString(), json.GetProperty("pod").GetString(),
            json.GetProperty("namespace").GetString(), json.GetProperty("pod_name").GetString(), json.GetProperty("source").GetString()));
        Assert.Matches("^NAME +STATUS +IMAGE +DIGEST +CREATED +POD$", text[0]);
        Assert.Matches("^member +running .* pod-1$", text[1]);
    }

    /// <summary>A container that exits at once may be reaped before the agent answers that it started: the run still succeeds, with its exit status.</summary>
    [Fact]
    public async Task Run_AttachedContainersThatExitAtOnce_EveryRunAnsweredWithItsStatus()
    {
        var (reference, _, trusted) = await PublishAsync("run/instant");
        var results = new List<(int, string)>();

        for (var i = 0; i < 12; i++)
        {
            var run = await Tl("run", reference, "--trust", trusted, "--name", $"instant-{i}", "--attach", "--", "/bin/busybox", "sh", "-c", $"exit {i % 3}");
            results.Add((run.ExitCode, run.Stderr));
            (await Tl("rm", $"instant-{i}")).EnsureSuccess();
        }

        Assert.Equal(Enumerable.Range(0, 12).Select(i => (i % 3, "")), results);
    }

    [Fact]
    public async Task Run_NoGoldenValue_Exit3RefusalMeasuredNothingLeft()
    {
        var image = await registry.PushAsync(registry.LayoutB, "run/unpublished", "v1");
        var (_, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "nobody");
        var since = await LogLengthAsync();

        var run = await Tl("run", image.Reference, "--trust", trusted, "--name", "never");

        var reason = $"no golden value for {image.Reference} (tag sha256-{image.ManifestDigest["sha256:".Length..]}.golden not found)";
        Assert.Equal((3, "", $"NOT verified: {reason}\n"), (run.ExitCode, run.Stdout, run.Stderr));
        await AssertRejectedAsync(since, image.ManifestDigest, reason);
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "never")));
    }

    [Fact]
    public async Task Run_UntrustedPublisher_Exit3()
    {
        var (reference, digest, _) = await PublishAsync("run/untrusted");
        var (_, other) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "other");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", other);

        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith("NOT verified: untrusted publisher key ", run.Stderr);
        await AssertRejectedAsync(since, digest, run.Stderr["NOT verified: ".Length..].TrimEnd('\n'));
    }

    [Fact]
    public async Task Run_GoldenValueExpired_Exit3()
    {
        var (reference, digest, trusted) = await PublishAsync("run/expired", expires: "1s");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted);

        Assert.Equal(3, run.ExitCode);
        Assert.Matches(@"^NOT verified: expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$", run.Stderr);
        await AssertRejectedAsync(since, digest, run.Stderr["NOT verified: ".Length..].TrimEnd('\n'));
    }

    [Fact]
    public async Task Run_GoldenValueRewritten_Exit3SignatureInvalid()
    {
        var (reference, digest, trusted) = await PublishAsync("run/rewritten");
        await ImageRegistryFixture.RewriteGoldenPayloadAsync(reference, digest, "run/rewritten", "run/elsewhere");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted, "--name", "forged");

        Assert.Equal((3, "NOT verified: signature invalid\n"), (run.ExitCode, run.Stderr));
        await AssertRejectedAsync(since, digest, "signature invalid");
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "forged")));
    }

    [Fact]
    public async Task Run_AnotherImagesGoldenValueCopied_Exit3ManifestDigestMismatch()
    {
        var (reference, published, trusted) = await PublishAsync("run/copied");
        var swapped = await registry.PushAsync(registry.LayoutB, "run/copied", "v1");
        await ImageRegistryFixture.CopyGoldenValueAsync(reference, published, swapped.ManifestDigest);
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted);

        var reason = $"manifest digest mismatch: golden value is for {published}, image is {swapped.ManifestDigest}";
        Assert.Equal((3, $"NOT verified: {reason}\n"), (run.ExitCode, run.Stderr));
        await AssertRejectedAsync(since, swapped.ManifestDigest, reason);
    }

    [Fact]
    public async Task Run_TagMovedToAnotherImage_Exit3NoGoldenValueForTheNewDigest()
    {
        var (reference, _, trusted) = await PublishAsync("run/moved");
        var moved = await registry.PushAsync(registry.LayoutB, "run/moved", "v1");

        var run = await Tl("run", reference, "--trust", trusted);

        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"NOT verified: no golden value for {reference} (tag sha256-{moved.ManifestDigest["sha256:".Length..]}.golden not found)\n", run.Stderr);
    }

    [Fact]
    public async Task Run_SnapshotTamperedAfterPull_Exit3RootfsMismatch()
    {
        var (reference, digest, trusted) = await PublishAsync("run/tampered");
        (await Tl("run", reference, "--trust", trusted, "--name", "first", "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        (await Tl("rm", "first")).EnsureSuccess();
        var snapshot = Path.Combine(DataDir, "snapshots", digest["sha256:".Length..], "rootfs");
        await File.WriteAllTextAsync(Path.Combine(snapshot, "etc", "hello.txt"), "tampered\n");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--trust", trusted, "--name", "second");

        Assert.Equal(3, run.ExitCode);
        Assert.Matches($"^NOT verified: rootfs digest mismatch: golden value has sha256:[0-9a-f]{{64}}, the snapshot {snapshot} has sha256:[0-9a-f]{{64}} \\(modified after the pull\\?\\)\n$", run.Stderr);
        await AssertRejectedAsync(since, digest, run.Stderr["NOT verified: ".Length..].TrimEnd('\n'));
    }

    [Fact]
    public async Task Run_NameInUse_RefusedBeforeAnythingIsMeasured()
    {
        var (reference, _, trusted) = await PublishAsync("run/name");
        (await Tl("run", reference, "--trust", trusted, "--name", "twice", "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        var since = await LogLengthAsync();

        var again = await Tl("run", reference, "--trust", trusted, "--name", "twice");
        (await Tl("rm", "twice")).EnsureSuccess();

        Assert.Equal((1, "error: container name 'twice' is already in use (trustlaunch rm twice frees it)\n"), (again.ExitCode, again.Stderr));
        Assert.Equal([LaunchEvents.ContainerDeleted], (await EventsSinceAsync(since)).Select(e => Parse(e).Operation));
    }

    [Fact]
    public async Task Run_StandaloneOnTheAgentsLog_RefusedNothingMeasuredNothingLeft()
    {
        var (reference, _, trusted) = await PublishAsync("run/standalone");
        var since = await LogLengthAsync();
        var agentLog = Path.Combine(agent.Deployment.AgentDataDirectory, "log");

        var run = await CliHarness.RunAsync("run", "--data-dir", DataDir, "--standalone", "--launch-log", agentLog, "--tpm", agent.Deployment.Swtpm.Tcti,
            reference, "--trust", trusted, "--name", "stray");

        Assert.Equal((1, $"error: the launch log in {agentLog} is held by a running agent: measure through its socket (--agent-socket), not --standalone\n"),
            (run.ExitCode, run.Stderr));
        Assert.Equal(since, await LogLengthAsync());
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "stray")));
    }

    [Fact]
    public async Task Run_StandaloneWhereTheAgentServes_Refused()
    {
        var (cli, prefix) = ServiceProcess.CliCommand();

        var run = await ProcessRunner.RunAsync(cli, [.. prefix, "run", "--data-dir", DataDir, "--standalone", "--tpm", agent.Deployment.Swtpm.Tcti, "127.0.0.1:1/none:v1"],
            new Dictionary<string, string> { [TrustLaunch.Cli.Commands.Containers.ContainerOptions.AgentSocketEnvironmentVariable] = agent.Deployment.SocketPath });

        Assert.Equal((1, $"error: an agent serves at {agent.Deployment.SocketPath}: on its node launches are measured through it, not --standalone\n"),
            (run.ExitCode, run.StandardError));
    }

    [Fact]
    public async Task ImageGc_SnapshotsOfRemovedImages_RemovedUnlessAContainerUsesThem()
    {
        var (kept, keptDigest, keptKey) = await PublishAsync("gc/kept");
        var (gone, goneDigest, goneKey) = await PublishAsync("gc/gone", registry.LayoutB);
        (await Tl("run", kept, "--trust", keptKey, "--name", "user", "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        (await Tl("run", gone, "--trust", goneKey, "--name", "once", "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        (await Tl("rm", "once")).EnsureSuccess();
        foreach (var reference in new[] { kept, gone })
            (await CliHarness.RunAsync("image", "rm", reference, "--data-dir", DataDir)).EnsureSuccess();
        string Snapshot(string digest) => Path.Combine(DataDir, "snapshots", digest["sha256:".Length..]);

        var first = (await CliHarness.RunAsync("image", "gc", "--data-dir", DataDir, "--json")).EnsureSuccess().Json;
        var keptWhileUsed = Directory.Exists(Snapshot(keptDigest));
        (await Tl("rm", "user")).EnsureSuccess();
        var second = (await CliHarness.RunAsync("image", "gc", "--data-dir", DataDir)).EnsureSuccess();

        var removed = Assert.Single(first.GetProperty("snapshots_removed").EnumerateArray());
        Assert.Equal(goneDigest, removed.GetProperty("manifest_digest").GetString());
        Assert.True(removed.GetProperty("bytes").GetInt64() > 1_000_000); // busybox-static
        Assert.True(first.GetProperty("bytes_freed").GetInt64() > removed.GetProperty("bytes").GetInt64());
        Assert.False(Directory.Exists(Snapshot(goneDigest)));
        Assert.True(keptWhileUsed);
        Assert.Matches($"^freed \\d+ bytes \\([^)]+\\): 0 blobs, 0 ingest leftovers, 1 snapshots\nsnapshot {keptDigest} \\([^)]+\\)\n$", second.Stdout);
        Assert.False(Directory.Exists(Snapshot(keptDigest)));
    }

    [Fact]
    public async Task Run_RuncAttached_OutputAndExitCodeOfTheContainer()
    {
        var (reference, _, trusted) = await PublishAsync("run/runc-attached");
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--runtime", "runc", "--trust", trusted, "--name", "by-runc", "--attach", "--",
            "/bin/busybox", "sh", "-c", "cat /etc/hello.txt; exit 7");
        var rm = await Tl("rm", "by-runc");

        Assert.Equal((7, "hello from image A\n", ""), (run.ExitCode, run.Stdout, run.Stderr));
        rm.EnsureSuccess();
        var events = (await EventsSinceAsync(since)).Select(Parse).ToList();
        Assert.Equal(
            [LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
            events.Select(e => e.Operation));
        Assert.Equal(7, events[4].Content.GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task Run_RuncDetached_PsAndRmUseTheRecordedRuntime()
    {
        var (reference, _, trusted) = await PublishAsync("run/runc-detached");

        var run = await Tl("run", reference, "--runtime", "runc", "--trust", trusted, "--name", "runc-sleeper", "--", "/bin/busybox", "sleep", "60");
        // ps and rm use the runtime the container's record names, not their default (crun).
        var running = (await Tl("ps", "--json")).EnsureSuccess().Json;
        var rm = await Tl("rm", "runc-sleeper", "--force");
        var after = (await Tl("ps", "--json")).EnsureSuccess().Json;

        Assert.Equal((0, "runc-sleeper\n"), (run.ExitCode, run.Stdout));
        Assert.Equal("running", running[0].GetProperty("status").GetString());
        Assert.True(running[0].GetProperty("pid").GetInt32() > 0);
        Assert.Equal((0, ""), (rm.ExitCode, rm.Stderr));
        Assert.Equal(0, after.GetArrayLength());
    }

    [Fact]
    public async Task Rm_UnknownContainer_SaysSoEvenWithoutAnAgent()
    {
        var rm = await CliHarness.RunAsync("rm", "--data-dir", DataDir, "--agent-socket", _scratch["no-agent.sock"], "ghost");

        Assert.Equal((1, "error: no container named 'ghost'\n"), (rm.ExitCode, rm.Stderr));
    }

    private async Task AssertRejectedAsync(long since, string digest, string reason)
    {
        var events = (await EventsSinceAsync(since)).Select(Parse).ToList();
        var rejected = Assert.Single(events);
        Assert.Equal(LaunchEvents.ImageRejected, rejected.Operation);
        Assert.Equal(digest, rejected.Content.GetProperty("digest").GetString());
        Assert.Equal(reason, rejected.Content.GetProperty("reason").GetString());
    }
}

/// <summary>A registrar and a registered agent (its own swtpm) for the launcher to measure through.</summary>
public sealed class LaunchAgentFixture : IAsyncLifetime
{
    public AgentDeployment Deployment { get; } = new();

    public async Task InitializeAsync()
    {
        await Deployment.InitializeAsync();
        await Deployment.StartAgentAsync();
    }

    public Task DisposeAsync() => Deployment.DisposeAsync();
}
