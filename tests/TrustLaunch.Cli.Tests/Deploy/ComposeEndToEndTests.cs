using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;
using Xunit.Abstractions;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml as an operator uses it: <c>podman-compose up -d</c>, then from the tenant container a policy
/// trusting a publisher and the node under attestation until the verifier says Attested; an image pushed to the
/// stack's registry and its golden value published from the tenant container; then, in the agent container, a
/// verified <c>trustlaunch run</c> of it runs and one of an image nobody vouched for is refused.
/// </summary>
[Collection(PodmanCollection.Name)]
[Trait("Category", "Slow")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ComposeEndToEndTests(PodmanFixture podman, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Greeting = "hello from a verified container in compose";

    private readonly ComposeStack _stack = new(podman);
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-compose-").FullName;

    public async Task InitializeAsync()
    {
        foreach (var timing in podman.Timings)
            output.WriteLine(timing);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _stack.InitializeAsync();
        output.WriteLine($"podman-compose up -d: {clock.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public async Task TheNodeIsAttestedAndRunsOnlyAVerifiedImage()
    {
        foreach (var service in new[] { "swtpm", "registry", "registrar", "verifier", "agent", "kbs" })
            await _stack.WaitHealthyAsync(service);

        var (privateKey, publicKey) = await PublisherKeyAsync();
        await _stack.CopyInAsync("tenant", privateKey, "/tmp/publisher.pem", "root", "600");
        await _stack.CopyInAsync("agent", publicKey, "/tmp/publisher.pub.pem", "root", "644");
        await _stack.CopyInAsync("tenant", await PolicyAsync(publicKey), "/tmp/policy.json", "trustlaunch", "644");

        (await _stack.TrustLaunchAsync("tenant", "policy", "add", "/tmp/policy.json")).EnsureSuccess("policy add");
        (await _stack.TrustLaunchAsync("tenant", "agent", "add", _stack.AgentId, "--policy", "compose")).EnsureSuccess("agent add");
        var attested = await Eventually.WaitAsync(async () => await StateAsync() is "Attested" ? "Attested" : null,
            () => $"the agent never became Attested: {StateAsync().GetAwaiter().GetResult()}", TimeSpan.FromMinutes(2));
        Assert.Equal("Attested", attested);

        var image = await PushAsync("demo/hello", "This image has a golden value.\n");
        // As root: unpacked as the tenant's uid, the image's files would not keep their owners and the rootfs digest
        // would not be the one the node measures (see README.md, "Container images and compose").
        (await _stack.ExecAsync("tenant", ["trustlaunch", "golden", "publish", $"registry:5000/{image.Repository}:1", "--key", "/tmp/publisher.pem",
            "--expires", "1d", "--insecure-registry", "registry:5000", "--data-dir", "/root/golden"], "root")).EnsureSuccess("golden publish");

        var run = await RunAsync($"registry:5000/{image.Repository}:1", "hello", "--attach", "--", "/bin/busybox", "echo", Greeting);
        Assert.True(run.ExitCode == 0, $"the verified run exited {run.ExitCode}: {run.StandardError}{run.StandardOutput}");
        Assert.Equal(Greeting + "\n", run.StandardOutput);

        var unsigned = await PushAsync("demo/unsigned", "Nobody vouches for this image.\n");
        var refused = await RunAsync($"registry:5000/{unsigned.Repository}:1", "unsigned");
        Assert.Equal(ExitCodes.NotVerified, refused.ExitCode);
        Assert.Equal($"NOT verified: no golden value for registry:5000/{unsigned.Repository}:1 (tag {GoldenArtifact.TagFor(Digest.Parse(unsigned.ManifestDigest))} not found)\n",
            refused.StandardError);
        Assert.Equal("Attested", await StateAsync());
    }

    private Task<ProcessResult> RunAsync(string reference, string name, params string[] more) =>
        _stack.TrustLaunchAsync("agent", ["run", reference, "--name", name, "--trust", "/tmp/publisher.pub.pem", "--insecure-registry", "registry:5000", .. more]);

    private async Task<string> StateAsync()
    {
        var status = await _stack.TrustLaunchAsync("tenant", "agent", "status", _stack.AgentId, "--json");
        if (status.ExitCode != 0)
            return $"agent status failed: {status.StandardError}";
        using var json = JsonDocument.Parse(status.StandardOutput);
        var root = json.RootElement;
        return root.GetProperty("state").GetString() is "Attested" ? "Attested"
            : $"{root.GetProperty("state").GetString()} {(root.TryGetProperty("failure_reason", out var reason) ? reason.ToString() : "")}";
    }

    /// <summary>An EC P-256 publisher key pair as PEM files.</summary>
    private async Task<(string Private, string Public)> PublisherKeyAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privateFile = Path.Combine(_directory, "publisher.pem");
        var publicFile = Path.Combine(_directory, "publisher.pub.pem");
        await File.WriteAllTextAsync(privateFile, key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(publicFile, key.ExportSubjectPublicKeyInfoPem());
        return (privateFile, publicFile);
    }

    /// <summary>The policy "compose": the publisher trusted, launches measured into the default PCR.</summary>
    private async Task<string> PolicyAsync(string publicKey)
    {
        string keyId;
        using (var verifier = PemPayloadVerifier.FromFile(publicKey))
            keyId = verifier.KeyId;
        var policy = new PolicyDocument("compose", new Dictionary<string, string> { [keyId] = await File.ReadAllTextAsync(publicKey) }, [], [keyId], [],
            LaunchPcr.Default, new Dictionary<int, string>());
        var file = Path.Combine(_directory, "policy.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(policy, ContractsJsonContext.Default.PolicyDocument));
        return file;
    }

    /// <summary>A busybox image with /etc/motd, pushed from the host to the stack's registry through its published port.</summary>
    private async Task<PushedImage> PushAsync(string repository, string motd)
    {
        var layout = Path.Combine(_directory, repository.Replace('/', '_'));
        await TestImages.BuildAsync(layout, "1", new Dictionary<string, byte[]> { ["/etc/motd"] = Encoding.UTF8.GetBytes(motd) });
        var digestFile = Path.Combine(_directory, "digest");
        (await ProcessRunner.RunAsync("skopeo", ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", "--digestfile", digestFile,
            $"oci:{layout}:1", $"docker://127.0.0.1:{_stack.RegistryPort}/{repository}:1"])).EnsureSuccess("skopeo copy");
        return new PushedImage("registry:5000", repository, "1", (await File.ReadAllTextAsync(digestFile)).Trim());
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
