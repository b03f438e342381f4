using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The workload gateway end to end: images published with the fixture's trusted key run on node 0 through
/// <c>trustlaunch run</c> (real crun containers), and call 127.0.0.1:8006 from inside their own network namespace
/// with busybox nc; the broker grants by the calling container's image as the verifier saw it created.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IAsyncLifetime
{
    private readonly string _data = Path.Combine(stack.Directory, "gateway-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<string> _containers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Removes the test's containers (their overlay mounts would keep the fixture's directory from going).</summary>
    public async Task DisposeAsync()
    {
        foreach (var name in _containers)
            (await ContainerCommandAsync("rm", "--force", name)).EnsureSuccess("rm --force " + name);
    }

    private FleetNode Node => stack.Nodes[0];

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private async Task<PushedImage> PublishAsync(string repository)
    {
        var image = await TestImages.BuildAndPushAsync(registry, repository, "v1",
            new Dictionary<string, byte[]> { ["/etc/image-name"] = Encoding.UTF8.GetBytes(repository + Guid.NewGuid()) });
        (await KbsBrokerStack.CliAsync("golden", "publish", image.Reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(_data, "publish")))
            .EnsureSuccess("golden publish");
        return image;
    }

    /// <summary>The fixture's rules plus one granting <paramref name="resources"/> to containers of <paramref name="digest"/>; the new version.</summary>
    private Task<int> GrantAsync(string resources, string digest) => stack.GrantToContainersAsync(resources, digest);

    private Task<ProcessResult> ContainerAsync(PushedImage image, string name, string script, bool attach = true)
    {
        _containers.Add(name);
        return KbsBrokerStack.CliAsync(["run", image.Reference, "--trust", stack.PublisherPublicKey, "--name", name, .. attach ? new[] { "--attach" } : [],
            "--agent-socket", KbsBrokerStack.SocketOf(Node), "--data-dir", Path.Combine(_data, "run"), "--", "/bin/busybox", "sh", "-c", script]);
    }

    private Task<ProcessResult> ContainerCommandAsync(params string[] arguments) =>
        KbsBrokerStack.CliAsync([.. arguments, "--agent-socket", KbsBrokerStack.SocketOf(Node), "--data-dir", Path.Combine(_data, "run")]);

    /// <summary>A shell line sending <paramref name="request"/> (printf escapes) to the gateway, asked again while the
    /// broker has not yet seen the container in the verifier's view of the log; prints the last answer. nc's input
    /// stays open a while: a client that half-closes is one that went away, to Kestrel.</summary>
    private static string Ask(string request) =>
        $"for i in $(seq 1 40); do r=$( (printf '{request}'; sleep 4) | nc 127.0.0.1 8006); case \"$r\" in *'not created in the verifier'*|'') sleep 0.25;; *) break;; esac; done; printf '%s' \"$r\"";

    private static string Get(string path) => Ask($"GET {path} HTTP/1.0\\r\\n\\r\\n");

    /// <summary>The status line and body of an answer the shell printed (which strips an empty body's last newline).</summary>
    private static (string Status, string Body) Response(string output)
    {
        var split = output.IndexOf("\r\n\r", StringComparison.Ordinal);
        Assert.True(split > 0, $"not an HTTP response: {output}");
        return (output[..output.IndexOf("\r\n", StringComparison.Ordinal)], output[Math.Min(output.Length, split + 4)..]);
    }

    private static string Base64(string base64Url) =>
        base64Url.Replace('-', '+').Replace('_', '/').PadRight(base64Url.Length + (4 - base64Url.Length % 4) % 4, '=');

    private static string Detail(string body) => JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;

    [Fact]
    public async Task Resource_GrantedImageReadsItFromInsideTheContainer_MeasuredForTheContainer()
    {
        var image = await PublishAsync("gateway/granted");
        var secret = "gateway-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await stack.PutResourceAsync("default/gateway/granted", Encoding.UTF8.GetBytes(secret));
        await GrantAsync("default/gateway/granted", image.ManifestDigest);
        var name = NewName("gw-granted");

        var run = (await ContainerAsync(image, name, $"test -S /run/trustlaunch/gateway.sock && echo socket-mounted; {Get("/cdh/resource/default/gateway/granted")}"))
            .EnsureSuccess("run");

        Assert.StartsWith("socket-mounted\n", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(("HTTP/1.1 200 OK", secret), Response(run.StandardOutput["socket-mounted\n".Length..]));
        var log = await stack.ReadLogAsync(Node);
        Assert.Contains($$"""{{LaunchEvents.Domain}} {{LaunchEvents.KeyReleased}} {"broker":"https://127.0.0.1:{{stack.Proxy.Port}}","container":"{{name}}","resource":"kbs:///default/gateway/granted"}""",
            log.Select(r => r.Content));
        Assert.DoesNotContain(log, r => r.Content.Contains(secret, StringComparison.Ordinal));
        await AssertAttestedThroughAsync(log[^1].RecNum);
    }

    [Fact]
    public async Task Resource_AnotherContainersImage_RefusedWithTheBrokersReason()
    {
        var granted = await PublishAsync("gateway/owner");
        var other = await PublishAsync("gateway/other");
        await stack.PutResourceAsync("default/gateway/owned", "owned"u8.ToArray());
        var version = await GrantAsync("default/gateway/owned", granted.ManifestDigest);
        var name = NewName("gw-other");

        var run = (await ContainerAsync(other, name, Get("/cdh/resource/default/gateway/owned"))).EnsureSuccess("run");

        var (status, body) = Response(run.StandardOutput);
        Assert.Equal("HTTP/1.1 403 Forbidden", status);
        Assert.Equal($"kbs refused: PolicyDeny: no rule of resource policy version {version} lets container '{name}' (image {other.ManifestDigest}) of agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read default/gateway/owned",
            Detail(body));
    }

    [Fact]
    public async Task Resource_WhatOnlyTheNodeIsGranted_RefusedToItsContainers()
    {
        var image = await PublishAsync("gateway/nodekeys");
        await stack.PutResourceAsync("default/key/gateway-node-only", "node"u8.ToArray());
        var version = await GrantAsync("default/gateway/unrelated", image.ManifestDigest);
        var name = NewName("gw-nodekeys");

        var run = (await ContainerAsync(image, name, Get("/cdh/resource/default/key/gateway-node-only"))).EnsureSuccess("run");

        var (status, body) = Response(run.StandardOutput);
        Assert.Equal("HTTP/1.1 403 Forbidden", status);
        Assert.Equal($"kbs refused: PolicyDeny: no rule of resource policy version {version} lets container '{name}' (image {image.ManifestDigest}) of agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read default/key/gateway-node-only",
            Detail(body));
        Assert.Equal("node", (await stack.GetResourceAsync(Node, "kbs:///default/key/gateway-node-only")).EnsureSuccess("get-resource").StandardOutput);
    }

    [Fact]
    public async Task Resource_TheNodeItself_NeverMatchesARuleOnContainerImages()
    {
        var image = await PublishAsync("gateway/nodeonly");
        await stack.PutResourceAsync("default/gateway/containers-only", "c"u8.ToArray());
        var version = await GrantAsync("default/gateway/containers-only", image.ManifestDigest);

        var result = await stack.GetResourceAsync(Node, "kbs:///default/gateway/containers-only");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"no rule of resource policy version {version} lets agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read default/gateway/containers-only",
            result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aael_EventMeasuredInTheContainersNameAndAppraised_TrustlaunchDomainRefused()
    {
        var image = await PublishAsync("gateway/aael");
        var name = NewName("gw-aael");
        static string Post(string body) =>
            Ask($"POST /aa/aael HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\\r\\n\\r\\n{body}");

        var run = (await ContainerAsync(image, name,
            $"{Post("""{"domain":"app.example","operation":"Configured","content":"mode=strict"}""")}; echo; echo ---; {Post("""{"domain":"trustlaunch","operation":"KeyReleased","content":"{}"}""")}"))
            .EnsureSuccess("run");

        var answers = run.StandardOutput.Split("\n---\n");
        Assert.Equal("HTTP/1.1 200 OK", Response(answers[0]).Status);
        var (status, body) = Response(answers[1]);
        Assert.Equal(("HTTP/1.1 403 Forbidden", "domain 'trustlaunch' is TrustLaunch's own: a workload cannot append its events"), (status, Detail(body)));
        var log = await stack.ReadLogAsync(Node);
        var events = log.Where(r => r.Content.StartsWith($"{LaunchEvents.Domain} {LaunchEvents.WorkloadEvent} ", StringComparison.Ordinal)
            && r.Content.Contains($"\"container\":\"{name}\"", StringComparison.Ordinal)).ToList();
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.WorkloadEvent}} {"container":"{{name}}","content":"mode=strict","domain":"app.example","operation":"Configured"}""",
            Assert.Single(events).Content);
        await AssertAttestedThroughAsync(events[0].RecNum);
    }

    [Fact]
    public async Task TokenEvidenceInfo_AnswerForTheCallingContainer()
    {
        var image = await PublishAsync("gateway/token");
        var name = NewName("gw-token");

        var run = (await ContainerAsync(image, name,
            $"{Get("/aa/token?token_type=kbs")}; echo; echo ---; {Get("/aa/evidence?runtime_data=nonce-123")}; echo; echo ---; {Get("/info")}; echo; echo ---; {Get("/aa/token?token_type=coco_as")}"))
            .EnsureSuccess("run");

        var answers = run.StandardOutput.Split("\n---\n").Select(a => Response(a.TrimEnd('\n'))).ToList();
        Assert.All(answers.Take(3), a => Assert.Equal("HTTP/1.1 200 OK", a.Status));
        var token = JsonDocument.Parse(answers[0].Body).RootElement;
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", token.GetProperty("tee_keypair").GetString(), StringComparison.Ordinal);
        var claims = JsonDocument.Parse(Convert.FromBase64String(Base64(token.GetProperty("token").GetString()!.Split('.')[1]))).RootElement;
        Assert.Equal((name, image.ManifestDigest), (claims.GetProperty("trustlaunch.container").GetString(), claims.GetProperty("trustlaunch.image").GetString()));
        var evidence = JsonDocument.Parse(answers[1].Body).RootElement;
        Assert.Equal($$"""{"trustlaunch.container":"{{name}}","trustlaunch.image":"{{image.ManifestDigest}}"}""", evidence.GetProperty("additional_evidence").GetString());
        Assert.Equal((name, image.ManifestDigest), (JsonDocument.Parse(answers[2].Body).RootElement.GetProperty("container").GetString(),
            JsonDocument.Parse(answers[2].Body).RootElement.GetProperty("image_digest").GetString()));
        Assert.Equal(("HTTP/1.1 403 Forbidden", "token_type 'coco_as' is not supported: only 'kbs'"), (answers[3].Status, Detail(answers[3].Body)));
    }

    [Fact]
    public async Task Gateway_UnreachableFromTheHostNetwork_ItsSocketGoneWhenTheContainerStops()
    {
        var image = await PublishAsync("gateway/reach");
        var name = NewName("gw-reach");
        var gateways = Path.Combine(Path.GetDirectoryName(KbsBrokerStack.SocketOf(Node))!, "gateway");
        var before = Directory.EnumerateFiles(gateways, "gateway.sock", SearchOption.AllDirectories).ToHashSet();

        (await ContainerAsync(image, name, "sleep 60", attach: false)).EnsureSuccess("run");
        var socket = Assert.Single(Directory.EnumerateFiles(gateways, "gateway.sock", SearchOption.AllDirectories), s => !before.Contains(s));
        using (var local = UnixSocketHttp.Create(socket))
            Assert.Equal(name, JsonDocument.Parse(await local.GetStringAsync("/info")).RootElement.GetProperty("container").GetString());
        using var host = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => host.ConnectAsync("127.0.0.1", 8006));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        (await ContainerCommandAsync("stop", name)).EnsureSuccess("stop");
        await Eventually.WaitAsync(() => Task.FromResult<string?>(File.Exists(socket) ? null : socket), () => $"{socket} still there after the container stopped");
    }

    [Fact]
    public async Task Run_NameOfARunningContainerOfAnotherDataDirectory_RefusedBeforeAnythingIsMeasured()
    {
        var image = await PublishAsync("gateway/dup");
        var name = NewName("gw-dup");
        (await ContainerAsync(image, name, "sleep 60", attach: false)).EnsureSuccess("run");
        var before = (await stack.ReadLogAsync(Node)).Count;

        var second = await KbsBrokerStack.CliAsync("run", image.Reference, "--trust", stack.PublisherPublicKey, "--name", name,
            "--agent-socket", KbsBrokerStack.SocketOf(Node), "--data-dir", Path.Combine(_data, "other"), "--", "/bin/busybox", "true");

        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains($"container name '{name}' already has a workload gateway (a container of that name runs from another data directory): choose another name",
            second.StandardError, StringComparison.Ordinal);
        Assert.Equal(before, (await stack.ReadLogAsync(Node)).Count);
    }

    private async Task AssertAttestedThroughAsync(long recnum)
    {
        var status = await Eventually.WaitAsync(async () => await stack.Tenant.GetAgentAsync(Node.AgentId) is { } s && s.EventsVerified > recnum ? s : null,
            () => $"the verifier did not appraise event {recnum} in time");
        Assert.Equal((AgentStates.Attested, null), (status.State, status.FailureReason));
    }
}
