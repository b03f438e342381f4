using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// The trust chain from the command line, against real processes: a registrar, an agent on its own swtpm and a
/// verifier; the tenant commands put the agent under a policy, <c>trustlaunch run</c> launches a verified image
/// (the node stays Attested), and an out-of-policy event forced into the log behind the launcher's back fails it.
/// </summary>
[Trait("Category", "Slow")]
public sealed class AttestationCommandsTests(ImageRegistryFixture registry, AttestedNodeFixture node)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<AttestedNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private Task<CliResult> Tenant(params string[] args) => node.TenantAsync(args);

    private Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> done) => node.WaitForStatusAsync(done);

    [Fact]
    public async Task TenantCommands_VerifiedLaunchThenForgedEvent_AttestedThenFailedWithTheEvent()
    {
        var image = await registry.PushAsync(registry.LayoutA, "attest/app", "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        string keyId;
        using (var verifier = PemPayloadVerifier.FromFile(pub))
            keyId = verifier.KeyId;
        var policy = _scratch["prod.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string> { [keyId] = pub },
            [], [keyId], [], LaunchPcr.Default, new Dictionary<int, string>()),
            ContractsJsonContext.Default.PolicyDocument));

        (await Tenant("policy", "add", policy)).EnsureSuccess();
        (await Tenant("agent", "add", node.Deployment.AgentId, "--policy", "prod")).EnsureSuccess();
        await WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested);

        var run = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--trust", pub, "--name", "app", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        Assert.Equal((0, "hello from image A\n"), (run.ExitCode, run.Stdout));
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath, "app")).EnsureSuccess();
        var launched = (await node.Deployment.GetInfoAsync()).LogLength;
        var attested = await WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= launched);
        Assert.Equal(AgentStates.Attested, attested.GetProperty("state").GetString());

        // Remote mode: the verifier decides from the agent's policy; an image without a golden value is denied.
        var remote = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--mode", "remote", "--verifier", node.AgentPortUrl, "--agent-id", node.Deployment.AgentId,
            "--tls-dir", node.Deployment.TlsDirectory, "--name", "remote", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath, "remote")).EnsureSuccess();
        var unpublished = await registry.PushAsync(registry.LayoutB, "attest/unpublished", "v1");
        var denied = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            unpublished.Reference, "--mode", "remote", "--verifier", node.AgentPortUrl, "--agent-id", node.Deployment.AgentId,
            "--tls-dir", node.Deployment.TlsDirectory);
        Assert.Equal((0, "hello from image A\n"), (remote.ExitCode, remote.Stdout));
        Assert.Equal((3, $"NOT verified: the verifier denied it: no golden value for {unpublished.ManifestDigest} in {registry.Host}/attest/unpublished\n"),
            (denied.ExitCode, denied.Stderr));
        var remoteVerified = (await node.Deployment.ReadLogAsync()).Select(r => EventLine.Parse(r.Content))
            .Last(e => e.Operation == LaunchEvents.ImageVerified);
        Assert.Equal("remote", remoteVerified.Content.GetProperty("mode").GetString());

        // The verifier judges events it has not yet verified under the policy it holds now, so it must have verified the
        // remote launch under v1 before v2 revokes its golden value (otherwise that earlier launch fails the node).
        launched = (await node.Deployment.GetInfoAsync()).LogLength;
        attested = await WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= launched);
        Assert.Equal(AgentStates.Attested, attested.GetProperty("state").GetString());

        // A new version of the policy revokes that golden value: the verifier denies the next remote launch of it.
        var golden = remoteVerified.Content.GetProperty("golden").GetString();
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string> { [keyId] = pub },
            [], [keyId], [], LaunchPcr.Default, new Dictionary<int, string>(),
            GoldenTrust: JsonDocument.Parse($$"""{"revoked":["{{golden}}"]}""").RootElement), ContractsJsonContext.Default.PolicyDocument));
        (await Tenant("policy", "add", policy)).EnsureSuccess();
        var revoked = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--mode", "remote", "--verifier", node.AgentPortUrl, "--agent-id", node.Deployment.AgentId,
            "--tls-dir", node.Deployment.TlsDirectory, "--name", "revoked");
        Assert.Equal((3, $"NOT verified: the verifier denied it: golden value refused by policy 'prod' v2: golden value {golden} is revoked by the trust policy\n"),
            (revoked.ExitCode, revoked.Stderr));
        launched = (await node.Deployment.GetInfoAsync()).LogLength;
        attested = await WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= launched);
        Assert.Equal(AgentStates.Attested, attested.GetProperty("state").GetString());

        var unknown = "sha256:" + new string('e', 64);
        var forged = await node.Deployment.MeasureAsync(LaunchEvents.ContainerCreated,
            $$"""{"config":"sha256:{{new string('c', 64)}}","container":"intruder","digest":"{{unknown}}","image":"evil:latest","namespace":"","network":"pod","pod":"","seccomp":"default"}""");
        var failed = await WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Failed);
        var results = (await Tenant("results", node.Deployment.AgentId, "--last", "1", "--json")).EnsureSuccess().Json;
        var list = (await Tenant("agent", "list")).EnsureSuccess();
        var instances = (await Tenant("verifier", "instances")).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal($"event {forged.Record.RecNum} (ContainerCreated): image {unknown} is not allowed by policy 'prod' v2", failed.GetProperty("failure_reason").GetString());
        Assert.Equal(forged.Record.RecNum, failed.GetProperty("failed_event_index").GetInt64());
        Assert.Equal("contraindicated", results[0].GetProperty("status").GetString());
        Assert.Contains(node.Deployment.AgentId, list.Stdout);
        Assert.Contains(AgentStates.Failed, list.Stdout);
        // One instance, by default named after the host and its agent port, holds the one agent and made the results.
        var instance = $"{Environment.MachineName}:{new Uri(node.AgentPortUrl).Port}";
        Assert.Equal(instance, results[0].GetProperty("instance_id").GetString());
        Assert.Equal(2, instances.Length);
        Assert.Equal("INSTANCE                         AGENTS  LAST SEEN            STATUS", instances[0]);
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(instance)} +1 +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ +alive$", instances[1]);
    }

    [Fact]
    public async Task RemoteRun_WithAnotherNodesCertificate_DeniedBeforeTheImageIsLookedAt()
    {
        var image = await registry.PushAsync(registry.LayoutA, "attest/impostor", "v1");
        using (var ca = TestCa.Open(node.Deployment.TlsDirectory))
            ca.IssueLoopback(ServiceRoles.Agent, "impostor");

        var run = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--mode", "remote", "--verifier", node.AgentPortUrl, "--agent-id", node.Deployment.AgentId,
            "--tls-dir", node.Deployment.TlsDirectory, "--tls-name", "impostor");

        Assert.Equal((3, $"NOT verified: the verifier denied it: the caller's TLS certificate is not the one agent '{node.Deployment.AgentId}' registered\n"),
            (run.ExitCode, run.Stderr));
    }
}

/// <summary>A registrar, a registered agent (own swtpm) and a verifier polling every 0.3 s, as real processes.</summary>
public sealed class AttestedNodeFixture : IAsyncLifetime
{
    private ServiceProcess? _verifier;
    private int _verifierPort;

    public AgentDeployment Deployment { get; } = new();

    public string TenantUrl => $"https://127.0.0.1:{_verifierPort + 1}";

    public string AgentPortUrl => $"https://127.0.0.1:{_verifierPort}";

    /// <summary>Runs a tenant command (<c>policy …</c>, <c>agent …</c>, <c>results …</c>) against this verifier.</summary>
    public Task<CliResult> TenantAsync(params string[] args) =>
        CliHarness.RunAsync([.. args, "--verifier", TenantUrl, "--tls-dir", Deployment.TlsDirectory, "--tls-name", ServiceRoles.Tenant]);

    /// <summary>Polls <c>agent status --json</c> until <paramref name="done"/> holds (60 s at most).</summary>
    public async Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var status = (await TenantAsync("agent", "status", Deployment.AgentId, "--json")).EnsureSuccess().Json;
            if (done(status))
                return status;
            Assert.True(DateTime.UtcNow < deadline, $"agent status never reached the expected state: {status}");
            await Task.Delay(200);
        }
    }

    public async Task InitializeAsync()
    {
        await Deployment.InitializeAsync();
        await Deployment.StartAgentAsync();
        _verifierPort = FreePorts.FindPair();
        var tenant = new Hosting.Clients.ServiceHttpClientFactory(TlsIdentity.FromDirectory(Deployment.TlsDirectory, ServiceRoles.Tenant))
            .Create(new Uri(TenantUrl), ServiceRoles.Verifier);
        _verifier = await ServiceProcess.StartAsync(ServiceRoles.Verifier,
        [
            "--data-dir", Path.Combine(Deployment.Directory, "verifier"), "--tls-dir", Deployment.TlsDirectory,
            "--listen", $"127.0.0.1:{_verifierPort}", "--tenant-listen", $"127.0.0.1:{_verifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{Deployment.RegistrarPort + 1}", "--quote-interval", "0.3",
        ], new Uri($"{TenantUrl}/readyz"), tenant, Path.Combine(Deployment.Directory, "verifier.log"));
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        await Deployment.DisposeAsync();
    }
}
