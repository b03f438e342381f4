using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Remote mode with the trust file's signer rules: the verifier decides from the agent's policy (its
/// <c>golden_trust</c> <c>all_of</c> / <c>any_of</c> over its <c>trusted_publishers</c>), the node's own keys play no
/// part. Real registrar, agent on swtpm, verifier, docker-registry and crun.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RemoteTrustPolicyTests(ImageRegistryFixture registry, AttestedNodeFixture node)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<AttestedNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private (string Private, string Public, string KeyId) Key(string name)
    {
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, name);
        using var verifier = PemPayloadVerifier.FromFile(pub);
        return (priv, pub, verifier.KeyId);
    }

    private Task<CliResult> RemoteRunAsync(string reference, params string[] options) =>
        CliHarness.RunAsync(["run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath, reference, "--mode", "remote",
            "--verifier", node.AgentPortUrl, "--agent-id", node.Deployment.AgentId, "--tls-dir", node.Deployment.TlsDirectory, .. options]);

    private async Task RunsAsync(string reference, string name)
    {
        (await RemoteRunAsync(reference, "--name", name, "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath, name)).EnsureSuccess();
    }

    [Fact]
    public async Task RemoteRun_AllOfPublisherAndStore_DeniedNamingTheStoreUntilCountersigned_AnyOfByEitherCountersigner()
    {
        var publisher = Key("publisher");
        var store = Key("store");
        var auditor = Key("auditor");
        var both = await registry.PushAsync(registry.LayoutA, "remote-trust/both", "v1");
        var either = await registry.PushAsync(registry.LayoutB, "remote-trust/either", "v1");
        foreach (var image in new[] { both, either })
            (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", publisher.Private, "--data-dir", _scratch["publish"])).EnsureSuccess();
        var bothName = ImageReference.Parse(both.Reference).Name;
        var eitherName = ImageReference.Parse(either.Reference).Name;
        var policy = _scratch["prod.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod",
            new Dictionary<string, string> { [publisher.KeyId] = File.ReadAllText(publisher.Public), [store.KeyId] = File.ReadAllText(store.Public), [auditor.KeyId] = File.ReadAllText(auditor.Public) },
            [], [publisher.KeyId], [], LaunchPcr.Default, new Dictionary<int, string>(),
            GoldenTrust: JsonDocument.Parse($$"""
                {"repositories":{
                  "{{bothName}}":{"all_of":["{{publisher.KeyId}}","{{store.KeyId}}"]},
                  "{{eitherName}}":{"any_of":["{{store.KeyId}}","{{auditor.KeyId}}"]} } }
                """).RootElement), ContractsJsonContext.Default.PolicyDocument));
        (await node.TenantAsync("policy", "add", policy)).EnsureSuccess();
        (await node.TenantAsync("agent", "add", node.Deployment.AgentId, "--policy", "prod")).EnsureSuccess();
        await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested);

        var publisherOnly = await RemoteRunAsync(both.Reference);
        var neither = await RemoteRunAsync(either.Reference);
        (await CliHarness.RunAsync("golden", "countersign", both.Reference, "--key", store.Private)).EnsureSuccess();
        (await CliHarness.RunAsync("golden", "countersign", either.Reference, "--key", auditor.Private)).EnsureSuccess();
        var since = (await node.Deployment.GetInfoAsync()).LogLength;
        await RunsAsync(both.Reference, "both");
        await RunsAsync(either.Reference, "either");

        Assert.Equal((3, $"NOT verified: the verifier denied it: golden value refused by policy 'prod' v1: missing signature by {store.KeyId}, which the trust policy requires for {bothName} (all_of)\n"),
            (publisherOnly.ExitCode, publisherOnly.Stderr));
        Assert.Equal((3, $"NOT verified: the verifier denied it: golden value refused by policy 'prod' v1: missing signature by any of {store.KeyId}, {auditor.KeyId}, one of which the trust policy requires for {eitherName} (any_of)\n"),
            (neither.ExitCode, neither.Stderr));
        var verified = (await node.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).Where(e => e.Operation == LaunchEvents.ImageVerified).ToList();
        Assert.Equal([$"remote {publisher.KeyId},{store.KeyId}", $"remote {publisher.KeyId},{auditor.KeyId}"],
            verified.Select(e => $"{e.Content.GetProperty("mode").GetString()} {string.Join(',', e.Content.GetProperty("signers").EnumerateArray().Select(s => s.GetString()))}"));
        // The verifier re-checks those events against the same rules: the node stays Attested.
        var launched = (await node.Deployment.GetInfoAsync()).LogLength;
        var attested = await node.WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= launched);
        Assert.Equal(AgentStates.Attested, attested.GetProperty("state").GetString());
    }

    [Fact]
    public async Task PolicyAdd_GoldenTrustRequiresAKeyThatIsNotATrustedPublisher_RefusedNamingIt()
    {
        var publisher = Key("lone-publisher");
        var stranger = Key("stranger");
        var policy = _scratch["bad.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("bad",
            new Dictionary<string, string> { [publisher.KeyId] = File.ReadAllText(publisher.Public) }, [], [publisher.KeyId], [], LaunchPcr.Default, new Dictionary<int, string>(),
            GoldenTrust: JsonDocument.Parse($$"""{"repositories":{"busybox":{"all_of":["{{stranger.KeyId}}"]} } }""").RootElement), ContractsJsonContext.Default.PolicyDocument));

        var added = await node.TenantAsync("policy", "add", policy);

        Assert.NotEqual(0, added.ExitCode);
        Assert.Contains($"golden_trust: repositories.\"docker.io/library/busybox\".all_of: key {stranger.KeyId} is not one of the trusted publisher keys, so no signature by it is ever checked",
            added.Stderr);
    }
}
