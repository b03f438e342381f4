using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>trustlaunch run --secret NAME=FILE</c> on the broker stack's nodes, with real crun: the agent unseals the secret
/// through its own handshake with the broker once the image is verified, and the container reads it at
/// <c>/run/secrets/NAME</c> from a read-only tmpfs; the value is in no log and in no file on disk.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretRunEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("tl-secret-run-");

    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[2];

    /// <summary>A new image with its golden value published by the publisher the verifier trusts; its public key, to trust locally.</summary>
    private async Task<(string Reference, string TrustedKey)> PublishAsync(string repository)
    {
        var image = await TestImages.BuildAndPushAsync(registry, repository, "v1");
        (await KbsBrokerStack.CliAsync("golden", "publish", image.Reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(stack.Directory, "golden-" + Guid.NewGuid().ToString("N"))))
            .EnsureSuccess("golden publish");
        return (image.Reference, stack.PublisherPublicKey);
    }

    private async Task<string> SealedFileAsync(string sealedText)
    {
        var file = Path.Combine(stack.Directory, "sealed-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(file, sealedText + "\n");
        return file;
    }

    private string DataDir() => _scratch.CreateSubdirectory(Guid.NewGuid().ToString("N")).FullName;

    /// <summary>Whatever a failed test left mounted under the scratch directory is unmounted before it goes.</summary>
    public void Dispose()
    {
        foreach (var mount in SecretDisk.Mounts().Keys.Where(m => m.StartsWith(_scratch.FullName + "/", StringComparison.Ordinal)).OrderDescending(StringComparer.Ordinal))
            _ = TrustLaunch.Measurement.Native.Libc.Umount2(mount, TrustLaunch.Measurement.Native.Libc.MNT_DETACH);
        _scratch.Delete(recursive: true);
    }

    private static Task<ProcessResult> RunAsync(FleetNode node, string dataDir, string reference, string trustedKey, string name, IEnumerable<string> secrets,
        params string[] command) =>
        KbsBrokerStack.CliAsync(["run", reference, "--trust", trustedKey, "--agent-socket", KbsBrokerStack.SocketOf(node), "--data-dir", dataDir, "--name", name,
            "--attach", .. secrets.SelectMany(s => new[] { "--secret", s }), "--", .. command]);

    private static Task<ProcessResult> RemoveAsync(FleetNode node, string dataDir, string name) =>
        KbsBrokerStack.CliAsync("rm", name, "--agent-socket", KbsBrokerStack.SocketOf(node), "--data-dir", dataDir);

    [Fact]
    public async Task Run_SecretOnAttestedNode_ReadableReadOnlyFromTmpfsMeasuredByNameAndInNoLogOrFileOnDisk()
    {
        var (reference, trusted) = await PublishAsync("test/secret-run");
        var value = "run-secret-" + Guid.NewGuid().ToString("N");
        var sealedText = await stack.SealEnvelopeAsync("default/key/run-secret-kek", Encoding.UTF8.GetBytes(value));
        var dataDir = DataDir();
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var run = await RunAsync(Attested, dataDir, reference, trusted, "sec-read", [$"db-password={await SealedFileAsync(sealedText)}"],
            "/bin/busybox", "sh", "-c", "/bin/busybox sha256sum /run/secrets/db-password; /bin/busybox grep ' /run/secrets ' /proc/mounts | /bin/busybox cut -d' ' -f3; "
            + "/bin/busybox stat -c %a /run/secrets/db-password; (echo x > /run/secrets/db-password) 2>/dev/null && echo writable || echo read-only; "
            + "/bin/busybox touch /run/secrets/new 2>/dev/null && echo added || echo none-added");

        var secretsMount = Path.Combine(dataDir, "containers", "sec-read", "secrets");
        var mounted = SecretDisk.Mounts().GetValueOrDefault(secretsMount);
        var record = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dataDir, "containers", "sec-read", "container.json"))).RootElement.GetProperty("secrets");
        var onDisk = await SecretDisk.FilesHoldingAsync(dataDir, value) + await SecretDisk.FilesHoldingAsync(Path.GetDirectoryName(KbsBrokerStack.SocketOf(Attested))!, value);
        var log = await stack.ReadLogAsync(Attested);
        (await RemoveAsync(Attested, dataDir, "sec-read")).EnsureSuccess("rm");

        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        Assert.Equal((0, $"{sha}  /run/secrets/db-password\ntmpfs\n444\nread-only\nnone-added\n"), (run.ExitCode, run.StandardOutput));
        Assert.Equal("tmpfs", mounted.Type);
        Assert.StartsWith("ro,nosuid,nodev,noexec", mounted.Options, StringComparison.Ordinal);
        Assert.Equal($$"""[{"name":"db-password","sealed_digest":"{{SealedSecret.DigestOf(sealedText)}}"}]""", JsonSerializer.Serialize(record));
        Assert.Equal("", onDisk);
        var events = log.Skip(before).Select(r => EventLine.Parse(r.Content).Operation).ToList();
        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.KeyReleased, LaunchEvents.SecretReleased, LaunchEvents.ContainerCreated],
            events.Take(5));
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.SecretReleased}} {"name":"db-password","sealed_digest":"{{SealedSecret.DigestOf(sealedText)}}"}""",
            log.Skip(before).Single(r => EventLine.Parse(r.Content).Operation == LaunchEvents.SecretReleased).Content);
        Assert.DoesNotContain(log, r => r.Content.Contains(value, StringComparison.Ordinal));
        foreach (var file in new[] { Attested.Process.LogFile, stack.Kbs.LogFile })
            Assert.DoesNotContain(value, await File.ReadAllTextAsync(file));
        Assert.DoesNotContain(value, run.StandardOutput + run.StandardError);
        Assert.False(SecretDisk.Mounts().ContainsKey(secretsMount));
        Assert.False(Directory.Exists(Path.Combine(dataDir, "containers", "sec-read")));
    }

    [Fact]
    public async Task Run_SecretWithBadSignature_RefusedBeforeAnythingIsMeasuredAndNoContainer()
    {
        var (reference, trusted) = await PublishAsync("test/secret-forged");
        var parts = (await stack.SealEnvelopeAsync("default/key/run-secret-forged", "forged"u8.ToArray())).Split('.');
        parts[3] = parts[3][..10] + (parts[3][10] == 'A' ? 'B' : 'A') + parts[3][11..];
        var dataDir = DataDir();
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var run = await RunAsync(Attested, dataDir, reference, trusted, "sec-forged", [$"db={await SealedFileAsync(string.Join('.', parts))}"], "/bin/busybox", "true");

        Assert.Equal((3, $"NOT verified: secret 'db' refused: sealed secret's signature does not verify under kid '{KbsEndToEndFixture.SecretKid}'\n"),
            (run.ExitCode, run.StandardError));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
        Assert.False(Directory.Exists(Path.Combine(dataDir, "containers", "sec-forged")));
    }

    [Fact]
    public async Task Run_SecretOnNodeTheVerifierFails_RefusedWithTheBrokersReasonNoSecretReleasedNoContainer()
    {
        var (reference, trusted) = await PublishAsync("test/secret-failed");
        var value = "never-released-" + Guid.NewGuid().ToString("N");
        var sealedText = await stack.SealEnvelopeAsync("default/key/run-secret-failed", Encoding.UTF8.GetBytes(value));
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var dataDir = DataDir();
        var before = (await stack.ReadLogAsync(ToFail)).Count;

        var run = await RunAsync(ToFail, dataDir, reference, trusted, "sec-failed", [$"db={await SealedFileAsync(sealedText)}"], "/bin/busybox", "true");

        Assert.Equal((3, $"NOT verified: secret 'db' refused: kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}\n"),
            (run.ExitCode, run.StandardError));
        var events = (await stack.ReadLogAsync(ToFail)).Skip(before).Select(r => EventLine.Parse(r.Content).Operation).ToList();
        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], events);
        Assert.False(Directory.Exists(Path.Combine(dataDir, "containers", "sec-failed")));
        Assert.DoesNotContain(Path.Combine(dataDir, "containers", "sec-failed", "secrets"), SecretDisk.Mounts().Keys);
        Assert.DoesNotContain(value, await File.ReadAllTextAsync(ToFail.Process.LogFile));
    }

    [Theory]
    [InlineData("a/b", "secret name 'a/b' contains a path separator")]
    [InlineData("..", "secret name '..' is '.' or '..', not a file name")]
    [InlineData("", "secret name is empty")]
    [InlineData("db db", "secret name is not 1-255 letters, digits, '.', '_' or '-'")]
    public async Task RunApi_BadSecretName_400BeforeAnythingIsMeasured(string name, string reason)
    {
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var (status, detail) = await PostRunAsync([new RunContainerSecret(name, "sealed.e30.e30.AAAA")]);

        Assert.Equal((HttpStatusCode.BadRequest, reason), (status, detail));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    [Fact]
    public async Task RunApi_SecretNameGivenTwice_400BeforeAnythingIsMeasured()
    {
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var (status, detail) = await PostRunAsync([new RunContainerSecret("db", "sealed.e30.e30.AAAA"), new RunContainerSecret("db", "sealed.e30.e30.AAAA")]);

        Assert.Equal((HttpStatusCode.BadRequest, "secret 'db' is given twice"), (status, detail));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    /// <summary><c>POST /v1/containers</c> straight to the agent (what a client other than the CLI could send).</summary>
    private async Task<(HttpStatusCode Status, string? Detail)> PostRunAsync(IReadOnlyList<RunContainerSecret> secrets)
    {
        using var local = UnixSocketHttp.Create(KbsBrokerStack.SocketOf(Attested));
        var request = new RunContainerRequest(DataDir(), "127.0.0.1:1/none:v1", "sec-api", "crun", "local", ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault,
            1024, Attach: false, Trust: stack.Directory)
        { Secrets = secrets };
        using var response = await local.PostAsJsonAsync("/v1/containers", request, LauncherContractsJsonContext.Default.RunContainerRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, problem.TryGetProperty("detail", out var detail) ? detail.GetString() : null);
    }
}
