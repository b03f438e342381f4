using System.Text.Json;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// The container lifecycle's holes: an agent (the containers' supervisor) that dies before measuring ContainerStopped
/// is recovered when it starts again or by the next command (ContainerStopped with exit_code null and the reason,
/// always before ContainerDeleted); a launch that fails
/// before the start leaves no directory and no mount; stdio.log is capped and rotated.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunLifecycleTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    private async Task<(string Reference, string TrustedKey)> PublishAsync(string repository)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-" + repository.Replace('/', '-'));
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, pub);
    }

    private async Task<List<(string Operation, JsonElement Content)>> ContainerEventsAsync(long since, string name) =>
        (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content))
            .Where(e => e.Content.TryGetProperty("container", out var c) && c.GetString() == name).Select(l => (l.Operation, l.Content)).ToList();

    private async Task<long> LogLengthAsync() => (await agent.Deployment.GetInfoAsync()).LogLength;

    /// <summary>
    /// Starts NAME detached (sleeping a minute) and kills the agent, its supervisor, with SIGKILL. The container's
    /// init is then adopted by this test process (a child subreaper, the agent's parent), which reaps it as init would,
    /// so its exit is not seen by anyone who records it. Returns the init's pid and its reaping; the caller restarts the
    /// agent (<see cref="RestartAgentAsync"/>) when the container has ended or not, as its case needs.
    /// </summary>
    private async Task<(int Pid, Task<int> Reaped)> RunAndKillAgentAsync(string reference, string trusted, string name)
    {
        ChildReaper.BecomeSubreaper();
        (await Tl("run", reference, "--trust", trusted, "--name", name, "--", "/bin/busybox", "sleep", "60")).EnsureSuccess();
        var pid = (await Tl("ps", "--json")).EnsureSuccess().Json.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("pid").GetInt32();
        Assert.Equal(agent.Deployment.Agent!.ProcessId, ParentOf(pid)); // supervised by the agent itself: no monitor process
        await agent.Deployment.Agent!.KillAsync();
        // The init is adopted only once the last of the agent's threads has exited, which can be after its group
        // leader shows as a zombie: wait for the adoption itself, or waitpid fails with ECHILD.
        while (ParentOf(pid) != Environment.ProcessId)
            await Task.Delay(20);
        return (pid, ChildReaper.WaitAsync(pid));
    }

    private Task RestartAgentAsync() => agent.Deployment.StartAgentAsync();

    private static int ParentOf(int pid) =>
        int.Parse(File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim());

    [Fact]
    public async Task AgentKilled_ContainerEndsThen_RestartMeasuresStoppedWithNullExitCodeBeforeRmMeasuresDeleted()
    {
        var (reference, trusted) = await PublishAsync("life/ended");
        var since = await LogLengthAsync();
        var (pid, reaped) = await RunAndKillAgentAsync(reference, trusted, "orphan");
        System.Diagnostics.Process.GetProcessById(pid).Kill(); // it ends with nobody to record how
        await reaped.WaitAsync(TimeSpan.FromSeconds(30));
        await RestartAgentAsync();

        var ps = (await Tl("ps", "--json")).EnsureSuccess().Json[0];
        (await Tl("ps", "--json")).EnsureSuccess(); // measures nothing more: the stop is recorded as measured
        (await Tl("rm", "orphan")).EnsureSuccess();

        Assert.Equal(("exited", JsonValueKind.Null, ContainerRecovery.MonitorDied),
            (ps.GetProperty("status").GetString(), ps.GetProperty("exit_code").ValueKind, ps.GetProperty("exit_reason").GetString()));
        var events = await ContainerEventsAsync(since, "orphan");
        Assert.Equal([LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
            events.Select(e => e.Operation));
        Assert.Equal((JsonValueKind.Null, ContainerRecovery.MonitorDied),
            (events[2].Content.GetProperty("exit_code").ValueKind, events[2].Content.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task AgentKilled_ContainerStillRunning_RmForceKillsItAndMeasuresStoppedThenDeleted()
    {
        var (reference, trusted) = await PublishAsync("life/running");
        var since = await LogLengthAsync();
        var (_, reaped) = await RunAndKillAgentAsync(reference, trusted, "unsupervised");
        await RestartAgentAsync();

        var ps = (await Tl("ps", "--json")).EnsureSuccess().Json[0];
        var rm = await Tl("rm", "unsupervised", "--force");

        Assert.Equal("running", ps.GetProperty("status").GetString());
        Assert.Equal((0, ""), (rm.ExitCode, rm.Stderr));
        Assert.Equal(137, await reaped.WaitAsync(TimeSpan.FromSeconds(30)));
        var events = await ContainerEventsAsync(since, "unsupervised");
        Assert.Equal([LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted],
            events.Select(e => e.Operation));
        Assert.Equal((JsonValueKind.Null, ContainerRecovery.KilledUnsupervised),
            (events[2].Content.GetProperty("exit_code").ValueKind, events[2].Content.GetProperty("reason").GetString()));
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "unsupervised")));
    }

    [Theory]
    [InlineData("crun", false)]
    [InlineData("runc", false)]
    [InlineData("crun", true)]
    [InlineData("runc", true)]
    public async Task Run_EntryPointMissing_FailsAndLeavesNoDirectoryNoMountAndABalancedLog(string runtime, bool attach)
    {
        var (reference, trusted) = await PublishAsync($"life/missing-{runtime}-{(attach ? "attached" : "detached")}");
        var since = await LogLengthAsync();

        var run = await Tl("run", [reference, "--runtime", runtime, "--trust", trusted, "--name", "broken", .. attach ? new[] { "--attach" } : [], "--", "/no/such/program"]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("/no/such/program", run.Stderr);
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "broken")));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), l => l.Split(' ')[1].StartsWith(DataDir + "/", StringComparison.Ordinal));
        var operations = (await ContainerEventsAsync(since, "broken")).Select(e => e.Operation).ToList();
        Assert.True(operations.Count == 0 || operations.SequenceEqual([LaunchEvents.ContainerCreated, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted]),
            string.Join(", ", operations));
    }

    [Fact]
    public async Task StdioLog_OutputBeyondTheCap_RotatedOnceAndLogsShowsTheLastTwoParts()
    {
        var (reference, trusted) = await PublishAsync("life/chatty");
        const int total = 25 * 1024 * 1024;

        (await Tl("run", reference, "--trust", trusted, "--name", "chatty", "--", "/bin/busybox", "sh", "-c",
            $"/bin/busybox yes | /bin/busybox head -c {total}; echo end")).EnsureSuccess();
        while ((await Tl("ps", "--json")).EnsureSuccess().Json[0].GetProperty("status").GetString() != "exited")
            await Task.Delay(100);
        var logs = (await Tl("logs", "chatty")).EnsureSuccess();
        var directory = Path.Combine(DataDir, "containers", "chatty");
        var current = new FileInfo(Path.Combine(directory, "stdio.log")).Length;
        var rotated = new FileInfo(Path.Combine(directory, "stdio.log.1")).Length;
        (await Tl("rm", "chatty")).EnsureSuccess();

        Assert.Equal((StdioLog.DefaultMaxBytes, total + 4 - (2 * StdioLog.DefaultMaxBytes)), (rotated, current));
        Assert.Equal(rotated + current, logs.Stdout.Length);
        Assert.EndsWith("y\ny\nend\n", logs.Stdout);
    }
}
