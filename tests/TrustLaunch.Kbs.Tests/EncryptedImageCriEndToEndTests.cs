using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// CRI PullImage of an image encrypted through the <c>trustlaunch</c> key provider, on the real broker stack and a real
/// containerd 1.6 whose stream processor is <c>trustlaunch stream-decrypt</c> and whose snapshots are on a tmpfs: the
/// agent opens the layer keys through its broker first (refusing a node that is not Attested, measured), containerd
/// decrypts through the processor (which asks node 0's agent), and the container runs the decrypted image.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsCriFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EncryptedImageCriEndToEndTests(KbsCriFixture stack)
{
    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[1];

    /// <summary>
    /// An image with a marker file, encrypted for the key provider (KEK at <paramref name="kek"/>) and a JWE recipient
    /// (whose key lets <c>golden publish</c> measure the decrypted rootfs), pushed as <c>library/NAME:1</c> with its
    /// golden value; kubelet's name for it, the marker's text and the first layer's digest.
    /// </summary>
    private async Task<(string Kubelet, string Marker, string FirstLayer)> PushEncryptedAsync(string name, string kek)
    {
        var marker = "encrypted-marker-" + Guid.NewGuid().ToString("N");
        var plain = await TestImages.BuildAndPushAsync(stack.Containerd.Registry, $"plain/{name}", "1",
            new Dictionary<string, byte[]> { ["/etc/marker"] = Encoding.UTF8.GetBytes(marker) });
        using var jwe = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pub = Path.Combine(stack.Directory, name + "-jwe.pub.pem");
        var priv = Path.Combine(stack.Directory, name + "-jwe.pem");
        await File.WriteAllTextAsync(pub, jwe.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(priv, jwe.ExportPkcs8PrivateKeyPem());
        var encrypted = $"{stack.Containerd.Registry.Host}/library/{name}:1";
        (await KbsBrokerStack.CliAsync("image", "encrypt", plain.Reference, encrypted, "--recipient", $"provider:trustlaunch:kbs:///{kek}", "--recipient", "jwe:" + pub,
            "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory, "--data-dir", Path.Combine(stack.Directory, "encrypt-" + name)))
            .EnsureSuccess("image encrypt");
        (await KbsBrokerStack.CliAsync("golden", "publish", encrypted, "--key", stack.PublisherKey, "--decryption-key", priv,
            "--data-dir", Path.Combine(stack.Directory, "golden-" + name))).EnsureSuccess("golden publish --decryption-key");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{stack.Containerd.Registry.Host}/v2/library/{name}/manifests/1");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        using var response = await http.SendAsync(request);
        var manifest = JsonNode.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!;
        return ($"docker.io/library/{name}:1", marker, (string)manifest["layers"]![0]!["digest"]!);
    }

    [Fact]
    public async Task PullImage_ProviderEncryptedOnAttestedNode_DecryptedOnTmpfsByTheStreamProcessorAndRuns()
    {
        var (image, marker, _) = await PushEncryptedAsync("enc-cri", "default/key/enc-cri");
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var sandbox = CriRequests.Sandbox("enc-0");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var container = (await kubelet.Runtime.CreateContainerAsync(CriRequests.Container(pod, sandbox, pulled.ImageRef))).ContainerId;
        await kubelet.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var exec = await kubelet.Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "cat", "/etc/marker" }, Timeout = 10 });
        var onDisk = await SecretDisk.FilesHoldingAsync(stack.Containerd.Directory, marker);
        var snapshots = SecretDisk.Mounts().GetValueOrDefault(Path.GetDirectoryName(stack.Containerd.SnapshotsDirectory)!);
        var events = (await stack.ReadLogAsync(Attested)).Skip(before).Select(r => EventLine.Parse(r.Content)).ToList();
        await kubelet.Runtime.StopContainerAsync(new TrustLaunch.Agent.Cri.V1.StopContainerRequest { ContainerId = container, Timeout = 0 });
        await kubelet.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await CriRequests.RemovePodAsync(kubelet, pod);

        Assert.Equal(marker, exec.Stdout.ToStringUtf8());
        Assert.Equal("tmpfs", snapshots.Type);
        Assert.Equal("", onDisk);
        // The key-encryption key once by the agent before containerd pulls, then once per encrypted layer (busybox, the marker) by the stream processor.
        Assert.Equal([LaunchEvents.KeyReleased, LaunchEvents.KeyReleased, LaunchEvents.KeyReleased, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated],
            events.Select(e => e.Operation).Take(6));
        Assert.All(events.Take(3), e => Assert.Equal("kbs:///default/key/enc-cri", e.Content.GetProperty("resource").GetString()));
    }

    [Fact]
    public async Task PullImage_ProviderEncryptedOnNodeTheVerifierFails_RefusedNotVerifiedMeasuredAndNotPulled()
    {
        var (image, _, firstLayer) = await PushEncryptedAsync("enc-cri-failed", "default/key/enc-cri-failed");
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        using var kubelet = new ContainerdConnection(stack.CriSocket(1));
        var before = (await stack.ReadLogAsync(ToFail)).Count;

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));
        var events = (await stack.ReadLogAsync(ToFail)).Skip(before).Select(r => EventLine.Parse(r.Content)).ToList();
        var held = await kubelet.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = image } });

        var reason = $"decryption failed: layer {firstLayer}: kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}";
        Assert.Equal((StatusCode.PermissionDenied, "NOT verified: " + reason), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal([LaunchEvents.ImageRejected], events.Select(e => e.Operation));
        Assert.Equal(reason, events[0].Content.GetProperty("reason").GetString());
        Assert.Null(held.Image);
    }
}
