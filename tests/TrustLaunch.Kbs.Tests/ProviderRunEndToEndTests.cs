using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>trustlaunch run</c> of images encrypted through the <c>trustlaunch</c> key provider, on the real broker stack and
/// registry: the node's agent (<c>serve agent --kbs</c>) fetches the key-encryption key through its own attestation,
/// once per pull, measured as <c>KeyReleased</c>; a node that is not Attested, a forged packet and an unknown kid are
/// each refused (<c>NOT verified: …</c>, measured as <c>ImageRejected</c>). The images also carry a JWE recipient only so
/// that <c>golden publish --decryption-key</c> can measure them here; the runs get no decryption key. That skopeo
/// still decrypts the JWE recipient is <see cref="KeyProviderImageTests"/>'.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProviderRunEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IDisposable
{
    private const string Kid = "kbs:///default/key/provrun-app";
    private const string FilePath = "/etc/provrun.txt";
    private static readonly string FileContent = "decrypted through the broker " + Guid.NewGuid().ToString("N");

    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("tl-provrun-").FullName;

    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[3];

    private string DataDir(FleetNode node) => Path.Combine(_directory, "data-" + node.AgentId);

    public void Dispose() => LaunchDirectories.Remove(_directory);

    private static Task<ProcessResult> CliAsync(params string[] arguments) => KbsBrokerStack.CliAsync(arguments);

    /// <summary>A busybox image with <see cref="FilePath"/>, encrypted for the key provider under <see cref="Kid"/> and a JWE key;
    /// a golden value of it published. Returns the encrypted image's reference, the JWE private key file and the plain image's reference.</summary>
    private async Task<(string Reference, string JweKey, string Plain)> EncryptedImageAsync(string repository)
    {
        var image = await TestImages.BuildAndPushAsync(registry, repository + "-src", "v1", new Dictionary<string, byte[]> { [FilePath] = Encoding.UTF8.GetBytes(FileContent) });
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pub = Path.Combine(_directory, repository.Replace('/', '_') + ".pub.pem");
        var priv = Path.Combine(_directory, repository.Replace('/', '_') + ".pem");
        await File.WriteAllTextAsync(pub, ec.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(priv, ec.ExportPkcs8PrivateKeyPem());
        var destination = $"{registry.Host}/{repository}:v1";
        (await CliAsync("image", "encrypt", image.Reference, destination, "--recipient", $"provider:trustlaunch:{Kid}", "--recipient", "jwe:" + pub,
            "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory, "--data-dir", Path.Combine(_directory, "encrypt"))).EnsureSuccess("image encrypt");
        return (destination, priv, image.Reference);
    }

    private async Task PublishAsync(string reference, params string[] options) =>
        (await CliAsync(["golden", "publish", reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(_directory, "publish"), .. options])).EnsureSuccess("golden publish");

    private Task<ProcessResult> RunAsync(FleetNode node, string reference, string name, params string[] command) =>
        CliAsync(["run", reference, "--data-dir", DataDir(node), "--agent-socket", KbsBrokerStack.SocketOf(node), "--trust", stack.PublisherPublicKey,
            "--name", name, "--attach", "--", .. command]);

    private async Task<List<string>> OperationsAfterAsync(FleetNode node, int before) =>
        [.. (await stack.ReadLogAsync(node)).Skip(before).Select(r => r.Content.Split(' ')[1])];

    private async Task<string> LastContentAsync(FleetNode node, string operation) =>
        (await stack.ReadLogAsync(node)).Last(r => r.Content.Split(' ')[1] == operation).Content;

    private async Task<string?> LastRejectionAsync(FleetNode node)
    {
        var content = await LastContentAsync(node, LaunchEvents.ImageRejected);
        return (string?)JsonNode.Parse(content[(content.IndexOf('{', StringComparison.Ordinal))..])!["reason"];
    }

    private async Task<string> FirstLayerAsync(string reference)
    {
        var (repository, tag) = Split(reference);
        return (string)(await RegistryManifests.GetAsync(registry.Host, repository, tag))["layers"]![0]!["digest"]!;
    }

    private static (string Repository, string Tag) Split(string reference)
    {
        var path = reference[(reference.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var colon = path.LastIndexOf(':');
        return (path[..colon], path[(colon + 1)..]);
    }

    /// <summary>The encrypted image pushed again as TAG with its first layer's provider packet changed by <paramref name="forge"/>.</summary>
    private async Task<string> ForgedAsync(string reference, string tag, Action<JsonObject> forge)
    {
        var (repository, sourceTag) = Split(reference);
        var manifest = await RegistryManifests.GetAsync(registry.Host, repository, sourceTag);
        var annotations = manifest["layers"]![0]!["annotations"]!.AsObject();
        var packet = JsonNode.Parse(Convert.FromBase64String((string)annotations[RegistryManifests.ProviderAnnotation]!))!.AsObject();
        forge(packet);
        annotations[RegistryManifests.ProviderAnnotation] = Convert.ToBase64String(Encoding.UTF8.GetBytes(packet.ToJsonString()));
        await RegistryManifests.PutAsync(registry.Host, repository, tag, manifest);
        return $"{registry.Host}/{repository}:{tag}";
    }

    [Fact]
    public async Task Run_ProviderEncryptedOnAttestedNode_DecryptedRootfsRunsKekReleasedOncePerPull()
    {
        var (reference, jweKey, plain) = await EncryptedImageAsync("provrun/app");
        await PublishAsync(reference, "--decryption-key", jweKey);
        await PublishAsync(plain);
        var before = (await stack.ReadLogAsync(Attested)).Count;

        // The container writes to a file of the image: the copy-up of a decrypted file must stay in memory too.
        var run = await RunAsync(Attested, reference, "provrun-app", "/bin/busybox", "sh", "-c", $"echo changed >> {FilePath} && /bin/busybox head -c {FileContent.Length} {FilePath}");

        Assert.Equal((0, FileContent, ""), (run.ExitCode, run.StandardOutput, run.StandardError));
        var operations = await OperationsAfterAsync(Attested, before);
        // Two encrypted layers under one kid: one release for the whole pull, before anything of the image is measured as pulled.
        Assert.Equal(
            [LaunchEvents.KeyReleased, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted,
                LaunchEvents.ContainerStopped],
            operations);
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.KeyReleased}} {"broker":"https://127.0.0.1:{{stack.Proxy.Port}}","resource":"{{Kid}}"}""",
            await LastContentAsync(Attested, LaunchEvents.KeyReleased));
        // A launch of the image already unpacked asks the broker again: only a node Attested now may run it.
        (await RunAsync(Attested, reference, "provrun-again", "/bin/busybox", "true")).EnsureSuccess("run again");
        Assert.Equal(2, (await OperationsAfterAsync(Attested, before)).Count(o => o == LaunchEvents.KeyReleased));
        var log = await stack.ReadLogAsync(Attested);
        var appraised = await Eventually.WaitAsync(async () => await stack.Tenant.GetAgentAsync(Attested.AgentId) is { } s && s.EventsVerified > log[^1].RecNum ? s : null,
            () => $"the verifier did not appraise event {log[^1].RecNum} in time");
        Assert.Equal((AgentStates.Attested, null), (appraised.State, appraised.FailureReason));
        // The container's own output (stdio.log) aside, nothing on disk holds the decrypted file; the plain image's snapshot will.
        Assert.Empty(await FilesOnDiskHoldingAsync(DataDir(Attested), FileContent));
        (await RunAsync(Attested, plain, "provrun-plain", "/bin/busybox", "true")).EnsureSuccess("run the plain image");
        var (encryptedDigest, _) = await RegistryManifests.DigestAsync(registry.Host, "provrun/app", "v1");
        var (plainDigest, _) = await RegistryManifests.DigestAsync(registry.Host, "provrun/app-src", "v1");
        var memorySnapshot = Path.Combine(DataDir(Attested), "memory-snapshots", encryptedDigest["sha256:".Length..]);
        Assert.Equal((TmpfsMagic, TmpfsMagic), (await FileSystemTypeAsync(Path.Combine(memorySnapshot, "rootfs")),
            await FileSystemTypeAsync(Path.Combine(DataDir(Attested), "memory-snapshots", "containers", "provrun-app", "upper", FilePath.TrimStart('/')))));
        Assert.NotEqual(TmpfsMagic, await FileSystemTypeAsync(Path.Combine(DataDir(Attested), "snapshots", plainDigest["sha256:".Length..], "rootfs")));

        foreach (var name in new[] { "provrun-app", "provrun-again", "provrun-plain" })
            (await CliAsync("rm", name, "--data-dir", DataDir(Attested), "--agent-socket", KbsBrokerStack.SocketOf(Attested))).EnsureSuccess("rm " + name);
        Assert.False(System.IO.Directory.Exists(memorySnapshot));
        Assert.Equal(["containers"], System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(DataDir(Attested), "memory-snapshots")).Select(Path.GetFileName));
        Assert.Empty(System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(DataDir(Attested), "memory-snapshots", "containers")));
        Assert.True(System.IO.Directory.Exists(Path.Combine(DataDir(Attested), "snapshots", plainDigest["sha256:".Length..], "rootfs")));
    }

    private const string TmpfsMagic = "1021994";

    /// <summary><c>f_type</c> of the filesystem <paramref name="path"/> is on, in hex, as <c>stat -f</c> prints it (statfs).</summary>
    private static async Task<string> FileSystemTypeAsync(string path) =>
        (await ProcessRunner.RunAsync("stat", ["-f", "-c", "%t", path])).EnsureSuccess("stat -f " + path).StandardOutput.Trim();

    /// <summary>Regular files on <paramref name="dataDir"/>'s own (disk) filesystem — not in the tmpfs or overlays mounted inside it —
    /// that hold <paramref name="text"/>, the containers' own output (stdio.log) aside.</summary>
    private static async Task<List<string>> FilesOnDiskHoldingAsync(string dataDir, string text)
    {
        var found = await ProcessRunner.RunAsync("sh", ["-c", "find \"$1\" -xdev -type f ! -name stdio.log -exec grep -lF -e \"$2\" {} +", "sh", dataDir, text]);
        Assert.True(found.ExitCode is 0 or 1, found.StandardError);
        return [.. found.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    [Fact]
    public async Task Run_NodeTheVerifierFails_RefusedNotVerifiedAndImageRejectedMeasured()
    {
        var (reference, jweKey, _) = await EncryptedImageAsync("provrun/failed");
        await PublishAsync(reference, "--decryption-key", jweKey);
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var layer = await FirstLayerAsync(reference);

        var run = await RunAsync(ToFail, reference, "provrun-failed", "/bin/busybox", "cat", FilePath);

        var reason = $"decryption failed: layer {layer}: kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}";
        Assert.Equal((3, "NOT verified: " + reason, ""), (run.ExitCode, run.StandardError.Trim(), run.StandardOutput));
        Assert.Equal(reason, await LastRejectionAsync(ToFail));
        Assert.DoesNotContain(FileContent, await File.ReadAllTextAsync(ToFail.Process.LogFile));
        Assert.False(System.IO.Directory.Exists(Path.Combine(DataDir(ToFail), "containers", "provrun-failed")));
    }

    [Fact]
    public async Task Run_EncryptedImagesSnapshotOnDisk_RefusedBeforeAnythingIsMeasured()
    {
        var (reference, jweKey, _) = await EncryptedImageAsync("provrun/on-disk");
        await PublishAsync(reference, "--decryption-key", jweKey);
        var (digest, _) = await RegistryManifests.DigestAsync(registry.Host, "provrun/on-disk", "v1");
        // A plain directory bind-mounted where the decrypted snapshot would be, inside the agent's tmpfs.
        var memory = Path.Combine(DataDir(Attested), "memory-snapshots");
        System.IO.Directory.CreateDirectory(memory);
        (await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "mode=0700", "tmpfs", memory])).EnsureSuccess("mount tmpfs");
        var rootfs = System.IO.Directory.CreateDirectory(Path.Combine(memory, digest["sha256:".Length..], "rootfs")).FullName;
        var disk = System.IO.Directory.CreateDirectory(Path.Combine(_directory, "disk-rootfs")).FullName;
        (await ProcessRunner.RunAsync("mount", ["--bind", disk, rootfs])).EnsureSuccess("mount --bind");
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var run = await RunAsync(Attested, reference, "provrun-on-disk", "/bin/busybox", "true");

        Assert.Equal((1, $"error: '{rootfs}' is on filesystem type 0x{await FileSystemTypeAsync(disk)}, not tmpfs or ramfs: the decrypted layers of encrypted images are kept only in memory"),
            (run.ExitCode, run.StandardError.Trim()));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
        (await ProcessRunner.RunAsync("umount", [rootfs])).EnsureSuccess("umount the bind mount");
    }

    [Theory]
    [InlineData("wrapped_data")]
    [InlineData("iv")]
    public async Task Run_ForgedProviderPacket_RefusedByTheGcmTag(string field)
    {
        var (reference, jweKey, _) = await EncryptedImageAsync("provrun/forged-" + field.Replace('_', '-'));
        var forged = await ForgedAsync(reference, "forged", packet =>
        {
            var bytes = Convert.FromBase64String((string)packet[field]!);
            bytes[0] ^= 0x01;
            packet[field] = Convert.ToBase64String(bytes);
        });
        await PublishAsync(forged, "--decryption-key", jweKey);
        var layer = await FirstLayerAsync(forged);

        var run = await RunAsync(Attested, forged, "provrun-forged-" + field.Replace('_', '-'), "/bin/busybox", "true");

        var reason = $"decryption failed: layer {layer}: key provider trustlaunch: the annotation packet for {Kid} does not open under its key-encryption key (forged, or the wrong key)";
        Assert.Equal((3, "NOT verified: " + reason), (run.ExitCode, run.StandardError.Trim()));
        Assert.Equal(reason, await LastRejectionAsync(Attested));
    }

    [Fact]
    public async Task Run_UnknownKid_RefusedByTheBroker()
    {
        var (reference, jweKey, _) = await EncryptedImageAsync("provrun/unknown-kid");
        var forged = await ForgedAsync(reference, "unknown-kid", packet => packet["kid"] = "kbs:///default/key/provrun-never-stored");
        await PublishAsync(forged, "--decryption-key", jweKey);
        var layer = await FirstLayerAsync(forged);

        var run = await RunAsync(Attested, forged, "provrun-unknown-kid", "/bin/busybox", "true");

        var reason = $"decryption failed: layer {layer}: kbs refused: ResourceNotFound: no resource default/key/provrun-never-stored";
        Assert.Equal((3, "NOT verified: " + reason), (run.ExitCode, run.StandardError.Trim()));
        Assert.Equal(reason, await LastRejectionAsync(Attested));
    }
}
