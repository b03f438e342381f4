using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run</c> isolates as a Kubernetes pod is by default and measures anything looser; the data tree is
/// private to root whatever the umask. Real crun and runc, a real registry and a real agent on swtpm.
/// </summary>
[Trait("Category", "Slow")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunIsolationTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    private async Task<(string Reference, string Digest, string TrustedKey)> PublishAsync(string repository, string? layout = null)
    {
        var image = await registry.PushAsync(layout ?? registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-" + repository.Replace('/', '-'));
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, image.ManifestDigest, pub);
    }

    /// <summary>Image A with <paramref name="script"/> run in its unpacked bundle (cwd) before the repack.</summary>
    private async Task<string> LayoutAsync(string name, string script, string? user = null)
    {
        var layout = _scratch[name];
        (await ProcessRunner.RunAsync("cp", ["-a", registry.LayoutA, layout])).EnsureSuccess("cp");
        var work = Directory.CreateDirectory(_scratch[name + "-work"]).FullName;
        (await ProcessRunner.RunAsync("sh", ["-euc", $"""
            umoci unpack --image '{layout}:t' b
            {script}
            umoci repack --image '{layout}:t' b
            {(user is null ? "" : $"umoci config --image '{layout}:t' --config.user '{user}'")}
            """], workingDirectory: work)).EnsureSuccess("umoci");
        return layout;
    }

    private async Task<List<(string Operation, JsonElement Content)>> EventsSinceAsync(long since) =>
        (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).Select(l => (l.Operation, l.Content)).ToList();

    private async Task<long> LogLengthAsync() => (await agent.Deployment.GetInfoAsync()).LogLength;

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task Run_Default_OwnNetworkAndSeccompMeasuredAsPodDefault_HostLoopbackUnreachable(string runtime)
    {
        var (reference, _, trusted) = await PublishAsync("iso/default-" + runtime);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--runtime", runtime, "--trust", trusted, "--name", "pod", "--attach", "--", "/bin/busybox", "sh", "-c",
            $"/bin/busybox grep Seccomp: /proc/self/status; /bin/busybox nc 127.0.0.1 {port} </dev/null 2>/dev/null && echo reached || echo unreachable");
        (await Tl("rm", "pod")).EnsureSuccess();

        Assert.Equal((0, "Seccomp:\t2\nunreachable\n"), (run.ExitCode, run.Stdout));
        Assert.False(listener.Pending());
        var created = (await EventsSinceAsync(since)).Single(e => e.Operation == LaunchEvents.ContainerCreated).Content;
        Assert.Equal((ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault),
            (created.GetProperty("network").GetString(), created.GetProperty("seccomp").GetString()));
    }

    [Fact]
    public async Task Run_NetHostSeccompUnconfined_ReachesTheHostAndMeasuredAsSuch()
    {
        var (reference, _, trusted) = await PublishAsync("iso/host");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = ReceiveLineAsync(listener);
        var since = await LogLengthAsync();

        var run = await Tl("run", reference, "--net", "host", "--seccomp", "unconfined", "--trust", trusted, "--name", "hostnet", "--attach", "--",
            "/bin/busybox", "sh", "-c", $"/bin/busybox grep Seccomp: /proc/self/status; echo hello | /bin/busybox nc 127.0.0.1 {port} && echo reached");
        var ps = (await Tl("ps", "--json")).EnsureSuccess().Json;
        (await Tl("rm", "hostnet")).EnsureSuccess();

        Assert.Equal((0, "Seccomp:\t0\nreached\n"), (run.ExitCode, run.Stdout));
        Assert.Equal("hello", await received.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(("host", "unconfined"), (ps[0].GetProperty("network").GetString(), ps[0].GetProperty("seccomp").GetString()));
        var created = (await EventsSinceAsync(since)).Single(e => e.Operation == LaunchEvents.ContainerCreated).Content;
        Assert.Equal((ContainerIsolation.NetworkHost, ContainerIsolation.SeccompUnconfined),
            (created.GetProperty("network").GetString(), created.GetProperty("seccomp").GetString()));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task Run_ImageUser_ContainerRunsAsIt(string runtime)
    {
        var layout = await LayoutAsync("layout-user-" + runtime, "true", user: "1000:2000");
        var (reference, _, trusted) = await PublishAsync("iso/user-" + runtime, layout);

        var run = await Tl("run", reference, "--runtime", runtime, "--trust", trusted, "--name", "user", "--attach", "--",
            "/bin/busybox", "sh", "-c", "/bin/busybox id; /bin/busybox cat /etc/hello.txt");
        (await Tl("rm", "user")).EnsureSuccess();

        Assert.Equal((0, "uid=1000 gid=2000 groups=2000\nhello from image A\n"), (run.ExitCode, run.Stdout));
    }

    [Fact]
    public async Task Run_BadPidsLimit_RefusedAsUsage()
    {
        var run = await Tl("run", "127.0.0.1:1/none:v1", "--pids-limit", "0");

        Assert.Equal((2, "error: --pids-limit must be a positive number of processes\n"), (run.ExitCode, run.Stderr));
    }

    [Fact]
    public async Task DataTree_UnderAnyUmask_PrivateSoAnotherUserCannotReadTheSnapshotOrRunItsSetuidBinary()
    {
        var layout = await LayoutAsync("layout-suid", "cp /bin/busybox b/rootfs/bin/suid && chmod 4755 b/rootfs/bin/suid");
        var (reference, digest, trusted) = await PublishAsync("iso/suid", layout);
        var (cli, prefix) = ServiceProcess.CliCommand();

        // umask 000: what the launcher creates must be private by its own doing.
        var run = await ProcessRunner.RunAsync("sh", ["-c", "umask 000; exec \"$@\"", "sh", cli, .. prefix, "run", "--data-dir", DataDir,
            "--agent-socket", agent.Deployment.SocketPath, reference, "--trust", trusted, "--name", "private", "--", "/bin/busybox", "sleep", "60"]);
        var snapshot = Path.Combine(DataDir, "snapshots", digest["sha256:".Length..], "rootfs");
        var modes = PrivateDirectories().ToDictionary(d => Path.GetRelativePath(DataDir, d), File.GetUnixFileMode);
        var read = await AsNobodyAsync("/bin/cat", Path.Combine(snapshot, "etc", "hello.txt"));
        var exec = await AsNobodyAsync(Path.Combine(snapshot, "bin", "suid"), "id", "-u");
        (await Tl("rm", "private", "--force")).EnsureSuccess();

        Assert.Equal((0, ""), (run.ExitCode, run.StandardError));
        Assert.True(File.GetUnixFileMode(Path.Combine(snapshot, "bin", "suid")).HasFlag(UnixFileMode.SetUser));
        Assert.Superset(new HashSet<string> { ".", "blobs", "ingest", "refs", "runtime", "snapshots", "containers", "containers/private" }, modes.Keys.ToHashSet());
        Assert.All(modes, m => Assert.Equal((m.Key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), (m.Key, m.Value)));
        Assert.Equal((1, $"/bin/cat: {Path.Combine(snapshot, "etc", "hello.txt")}: Permission denied\n"), (read.ExitCode, read.StandardError));
        // Reachable, it would print 0: busybox setuid root.
        Assert.Equal((126, ""), (exec.ExitCode, exec.StandardOutput));
        Assert.Contains("Permission denied", exec.StandardError);
    }

    /// <summary>The directories of the data tree the launcher makes: not the image's tree, a container's, or the runtime's own state.</summary>
    private IEnumerable<string> PrivateDirectories()
    {
        var pending = new Stack<string>([DataDir]);
        while (pending.TryPop(out var directory))
        {
            yield return directory;
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                if (Path.GetRelativePath(DataDir, child).Split('/') is not (["snapshots", _, "rootfs"] or ["containers", _, "bundle" or "upper" or "work"] or ["runtime", _]))
                    pending.Push(child);
            }
        }
    }

    /// <summary>
    /// Runs PROGRAM as nobody, from a shell that already is nobody: setpriv's own exec is made before its
    /// capabilities are gone (it runs a binary nobody cannot reach).
    /// </summary>
    private static Task<ProcessResult> AsNobodyAsync(string program, params string[] args) =>
        ProcessRunner.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", "exec \"$0\" \"$@\"", program, .. args]);

    private static async Task<string?> ReceiveLineAsync(TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        return await new StreamReader(client.GetStream()).ReadLineAsync();
    }
}
