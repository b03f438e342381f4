using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// The node trusts a publisher key the policy does not: <c>trustlaunch run</c> launches (its local check passes), and
/// the verifier, which checks the measured golden value against the policy itself, turns the node Failed at the
/// <c>ImageVerified</c>. Real registrar, agent (own swtpm) and verifier processes.
/// </summary>
[Trait("Category", "Slow")]
public sealed class UntrustedPublisherLaunchTests(ImageRegistryFixture registry, AttestedNodeFixture node)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<AttestedNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private Task<CliResult> Tenant(params string[] args) => node.TenantAsync(args);

    [Fact]
    public async Task Run_GoldenValueByAKeyOnlyTheNodeTrusts_LaunchedThenVerifierFailsTheNode()
    {
        var image = await registry.PushAsync(registry.LayoutA, "untrusted/app", "v1");
        var (nodePrivate, nodePublic) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "node-publisher");
        var (_, policyPublic) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "policy-publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", nodePrivate, "--data-dir", _scratch["publish"])).EnsureSuccess();
        string nodeKeyId, policyKeyId;
        using (var verifier = PemPayloadVerifier.FromFile(nodePublic))
            nodeKeyId = verifier.KeyId;
        using (var verifier = PemPayloadVerifier.FromFile(policyPublic))
            policyKeyId = verifier.KeyId;
        var policy = _scratch["prod.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string> { [policyKeyId] = policyPublic },
            [], [policyKeyId], [], LaunchPcr.Default, new Dictionary<int, string>(), ExecPolicy.Only(["/bin/busybox"]), AllowHostNetwork: true,
            AllowUnconfinedSeccomp: true), ContractsJsonContext.Default.PolicyDocument));
        (await Tenant("policy", "add", policy)).EnsureSuccess();
        var shown = (await Tenant("policy", "show", "prod")).EnsureSuccess().Stdout;
        (await Tenant("agent", "add", node.Deployment.AgentId, "--policy", "prod")).EnsureSuccess();
        await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested);

        var run = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--trust", nodePublic, "--name", "app", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        var verified = (await node.Deployment.ReadLogAsync()).Single(r => EventLine.Parse(r.Content).Operation == LaunchEvents.ImageVerified);
        var failed = await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Failed);
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath, "app")).EnsureSuccess();

        Assert.Contains("exec:        /bin/busybox\n", shown, StringComparison.Ordinal);
        Assert.Contains("host network: allowed; unconfined seccomp: allowed\n", shown, StringComparison.Ordinal);
        Assert.Equal((0, "hello from image A\n"), (run.ExitCode, run.Stdout));
        Assert.Equal($"event {verified.RecNum} (ImageVerified): golden value NOT verified: untrusted publisher key {nodeKeyId}",
            failed.GetProperty("failure_reason").GetString());
        Assert.Equal(verified.RecNum, failed.GetProperty("failed_event_index").GetInt64());
    }
}
