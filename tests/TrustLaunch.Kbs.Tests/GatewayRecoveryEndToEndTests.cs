using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// A container keeps running while its agent is killed (or stopped) and started again: the new agent gives it its
/// workload gateway back — the socket where the container sees it, and 127.0.0.1:8006 in its network namespace — for
/// the identity it was measured with, unless its bundle no longer matches what was measured. This test process is a
/// child subreaper, so it inherits (and reaps) the container's init when the agent goes.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayRecoveryEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IAsyncLifetime
{
    private readonly GatewayWorkloads _workloads = new(stack, registry);
    private readonly List<Task<int>> _reaped = [];

    private FleetNode Node => _workloads.Node;

    public Task InitializeAsync()
    {
        ChildReaper.BecomeSubreaper();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _workloads.DisposeAsync();
        await Task.WhenAll(_reaped).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Starts <paramref name="name"/> sleeping and takes its agent down (SIGKILL, or SIGTERM); returns the pid of
    /// its init once this process has inherited it.</summary>
    private async Task<int> RunThenTakeAgentDownAsync(PushedImage image, string name, bool kill)
    {
        (await _workloads.RunAsync(image, name, "sleep 600", attach: false)).EnsureSuccess("run");
        var pid = await _workloads.PidOfAsync(name);
        if (kill)
            await Node.Process.KillAsync();
        else
            await Node.Process.StopAsync();
        // Adopted once the agent's last thread is gone, which can be after it shows as exited.
        while (ParentOf(pid) != Environment.ProcessId)
            await Task.Delay(20);
        _reaped.Add(ChildReaper.WaitAsync(pid));
        return pid;
    }

    private static int ParentOf(int pid) =>
        int.Parse(File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GET 127.0.0.1:8006<paramref name="path"/> from inside the network namespace of <paramref name="pid"/>; curl's exit code, the body, the status.</summary>
    private static async Task<(int Exit, string Body, string Status)> GetInNamespaceAsync(int pid, string path)
    {
        var curl = await ProcessRunner.RunAsync("nsenter", ["-t", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "curl", "-s", "-w", "\n%{http_code}",
            "http://127.0.0.1:8006" + path]);
        var split = curl.StandardOutput.LastIndexOf('\n');
        return (curl.ExitCode, split < 0 ? "" : curl.StandardOutput[..split], curl.StandardOutput[(split + 1)..]);
    }

    private static string Detail(string body) => JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AgentRestart_RunningContainer_ReadsItsResourceThroughSocketAndPortAgain_AnotherContainersStillRefused(bool kill)
    {
        var image = await _workloads.PublishAsync("gateway/recovered");
        var other = await _workloads.PublishAsync("gateway/recovered-other");
        var secret = "recovered-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await stack.PutResourceAsync("default/gateway/recovered", Encoding.UTF8.GetBytes(secret));
        await stack.PutResourceAsync("default/gateway/recovered-other", "other"u8.ToArray());
        var version = await _workloads.GrantAsync(("default/gateway/recovered", image.ManifestDigest), ("default/gateway/recovered-other", other.ManifestDigest));
        var name = GatewayWorkloads.NewName("gw-recovered");
        var pid = await RunThenTakeAgentDownAsync(image, name, kill);

        await Node.Process.StartAsync();

        using var socket = UnixSocketHttp.Create(GatewayWorkloads.SocketOf(pid));
        // The broker answers once the verifier has appraised the restarted agent again.
        var viaSocket = await Eventually.WaitAsync(async () => await GetAsync(socket, "/cdh/resource/default/gateway/recovered") is { Status: HttpStatusCode.OK } ok ? ok.Body : null,
            () => $"container {name} was not given its resource through its socket after the agent's restart");
        var viaPort = await GetInNamespaceAsync(pid, "/cdh/resource/default/gateway/recovered");
        var refused = await GetAsync(socket, "/cdh/resource/default/gateway/recovered-other");
        Assert.Equal(secret, viaSocket);
        Assert.Equal((0, secret, "200"), viaPort);
        Assert.Equal((HttpStatusCode.Forbidden, $"kbs refused: PolicyDeny: no rule of resource policy version {version} lets container '{name}' (image {image.ManifestDigest}) of agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read default/gateway/recovered-other"),
            (refused.Status, Detail(refused.Body)));
        Assert.Contains($"Container {name} of {_workloads.RunDataDir}: workload gateway adopted after the agent's restart", _workloads.AgentMessages());

        // No monitor supervises it now, yet its gateway goes when it stops.
        var gatewayDirectory = GatewayDirectoryOf(name);
        Assert.True(Directory.Exists(gatewayDirectory), $"{gatewayDirectory} is gone while the container runs");
        (await _workloads.CommandAsync("stop", name)).EnsureSuccess("stop");
        await Eventually.WaitAsync(() => Task.FromResult(Directory.Exists(gatewayDirectory) ? null : "gone"), () => $"{gatewayDirectory} still there after the container stopped");
    }

    /// <summary>The host directory the container's config.json binds at /run/trustlaunch.</summary>
    private string GatewayDirectoryOf(string name) =>
        JsonDocument.Parse(File.ReadAllBytes(ConfigOf(name))).RootElement.GetProperty("mounts").EnumerateArray()
            .Single(m => m.GetProperty("destination").GetString() == "/run/trustlaunch").GetProperty("source").GetString()!;

    private string ConfigOf(string name) => Path.Combine(_workloads.RunDataDir, "containers", name, "bundle", "config.json");

    [Fact]
    public async Task AgentKilled_ConfigJsonChangedMeanwhile_RestartGivesTheContainerNoGateway_ReasonLogged()
    {
        var image = await _workloads.PublishAsync("gateway/changed");
        var name = GatewayWorkloads.NewName("gw-changed");
        var pid = await RunThenTakeAgentDownAsync(image, name, kill: true);
        var config = ConfigOf(name);
        var measured = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(config)));
        var gatewayDirectory = GatewayDirectoryOf(name);
        await File.AppendAllTextAsync(config, "\n");
        var changed = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(config)));

        await Node.Process.StartAsync();

        Assert.Contains($"Container {name} of {_workloads.RunDataDir}: no workload gateway after the agent's restart: its bundle's config.json is {changed}, not the {measured} it was created with: changed since",
            _workloads.AgentMessages());
        Assert.False(File.Exists(GatewayWorkloads.SocketOf(pid)), "the container still sees a gateway socket");
        Assert.False(Directory.Exists(gatewayDirectory), "the gateway directory nobody adopted is still there");
        Assert.Equal(7, (await GetInNamespaceAsync(pid, "/info")).Exit); // curl: could not connect
    }
}
