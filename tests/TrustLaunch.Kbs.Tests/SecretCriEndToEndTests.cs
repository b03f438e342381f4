using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Sealed secrets on kubelet's path: CreateContainer through the agent's CRI endpoint (real containerd, runc) with an env
/// value and a Kubernetes secret volume file in the <c>sealed.…</c> form; the agent unseals them through the real
/// broker, and the container sees the values (the file on a read-only tmpfs, never on disk).
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsCriFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretCriEndToEndTests(KbsCriFixture stack)
{
    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[1];

    private static string AgentDataDir(FleetNode node) => Path.GetDirectoryName(KbsBrokerStack.SocketOf(node))!;

    /// <summary>A Kubernetes secret volume as kubelet's atomic writer lays it out: <c>..data/KEY</c> files and <c>KEY → ..data/KEY</c> links.</summary>
    private string SecretVolume(IReadOnlyDictionary<string, string> files)
    {
        var volume = System.IO.Directory.CreateDirectory(Path.Combine(stack.Directory, "volume-" + Guid.NewGuid().ToString("N"))).FullName;
        var data = System.IO.Directory.CreateDirectory(Path.Combine(volume, "..2026_12_07_00_00_00.0001")).FullName;
        File.CreateSymbolicLink(Path.Combine(volume, "..data"), Path.GetFileName(data));
        foreach (var (key, content) in files)
        {
            File.WriteAllText(Path.Combine(data, key), content);
            File.CreateSymbolicLink(Path.Combine(volume, key), Path.Combine("..data", key));
        }
        return volume;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task CreateContainer_SealedEnvAndSecretVolume_ValuesInsideFileOnReadOnlyTmpfsMeasuredAndNotOnDisk()
    {
        var image = await CriRequests.PushAsync(stack, "secret-cri");
        var token = "cri-env-" + Guid.NewGuid().ToString("N");
        var password = "cri-file-" + Guid.NewGuid().ToString("N");
        var sealedToken = await stack.SealEnvelopeAsync("default/key/cri-env-kek", Encoding.UTF8.GetBytes(token));
        var sealedPassword = await stack.SealEnvelopeAsync("default/key/cri-file-kek", Encoding.UTF8.GetBytes(password));
        var volume = SecretVolume(new Dictionary<string, string> { ["db-password"] = sealedPassword + "\n", ["username"] = "admin" });
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var sandbox = CriRequests.Sandbox("secret-0");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var before = (await stack.ReadLogAsync(Attested)).Count;
        var create = CriRequests.Container(pod, sandbox, pulled.ImageRef);
        create.Config.Envs.Add(new KeyValue { Key = "DB_TOKEN", Value = sealedToken });
        create.Config.Envs.Add(new KeyValue { Key = "PLAIN", Value = "plain-value" });
        create.Config.Mounts.Add(new Mount { ContainerPath = "/etc/creds", HostPath = volume });

        var container = (await kubelet.Runtime.CreateContainerAsync(create)).ContainerId;
        var spec = SpecOf(await kubelet.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container, Verbose = true }));
        await kubelet.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var exec = await kubelet.Runtime.ExecSyncAsync(new ExecSyncRequest
        {
            ContainerId = container,
            Timeout = 10,
            Cmd =
            {
                "/bin/busybox", "sh", "-c", "printf %s \"$DB_TOKEN\" | /bin/busybox sha256sum; echo \"$PLAIN\"; /bin/busybox sha256sum < /etc/creds/db-password; "
                + "/bin/busybox cat /etc/creds/username; echo; /bin/busybox grep ' /etc/creds ' /proc/mounts | /bin/busybox cut -d' ' -f3; "
                + "/bin/busybox touch /etc/creds/new 2>/dev/null && echo added || echo read-only",
            },
        });
        var tmpfs = Path.Combine(AgentDataDir(Attested), "cri-secrets", pod, "app-0");
        var mounted = SecretDisk.Mounts().GetValueOrDefault(tmpfs);
        var passwordOnDisk = await SecretDisk.FilesHoldingAsync(stack.Containerd.Directory, password) + await SecretDisk.FilesHoldingAsync(AgentDataDir(Attested), password);
        var tokenInAgentFiles = await SecretDisk.FilesHoldingAsync(AgentDataDir(Attested), token);
        var tokenInContainerd = await SecretDisk.FilesHoldingAsync(stack.Containerd.Root, token);
        var log = await stack.ReadLogAsync(Attested);
        await kubelet.Runtime.StopContainerAsync(new TrustLaunch.Agent.Cri.V1.StopContainerRequest { ContainerId = container, Timeout = 0 });
        await kubelet.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await CriRequests.RemovePodAsync(kubelet, pod);

        Assert.Equal($"{Sha256(token)}  -\nplain-value\n{Sha256(password)}  -\nadmin\ntmpfs\nread-only\n", exec.Stdout.ToStringUtf8());
        Assert.Equal("tmpfs", mounted.Type);
        Assert.StartsWith("ro,nosuid,nodev,noexec", mounted.Options, StringComparison.Ordinal);
        Assert.Equal("", passwordOnDisk);
        Assert.Equal("", tokenInAgentFiles);
        // containerd keeps the container's OCI spec, env values included, in its metadata database: an env secret is on its disk.
        Assert.Equal(Path.Combine(stack.Containerd.Root, "io.containerd.metadata.v1.bolt", "meta.db") + "\n", tokenInContainerd);
        var released = log.Skip(before).Select(r => EventLine.Parse(r.Content)).Where(e => e.Operation == LaunchEvents.SecretReleased).Select(e => e.Content.GetRawText());
        Assert.Equal(
        [
            $$"""{"name":"DB_TOKEN","sealed_digest":"{{SealedSecret.DigestOf(sealedToken)}}"}""",
            $$"""{"name":"db-password","sealed_digest":"{{SealedSecret.DigestOf(sealedPassword)}}"}""",
        ], released);
        foreach (var value in new[] { token, password })
        {
            Assert.DoesNotContain(log, r => r.Content.Contains(value, StringComparison.Ordinal));
            Assert.DoesNotContain(value, await File.ReadAllTextAsync(Attested.Process.LogFile));
            Assert.DoesNotContain(value, stack.Containerd.ReadLog());
        }
        Assert.False(SecretDisk.Mounts().ContainsKey(tmpfs));
        Assert.False(System.IO.Directory.Exists(Path.Combine(AgentDataDir(Attested), "cri-secrets", pod)));
        // ContainerCreated's digest is of containerd's spec with the env value put back in its sealed form, not of the spec holding the value.
        var config = log.Skip(before).Select(r => EventLine.Parse(r.Content)).Single(e => e.Operation == LaunchEvents.ContainerCreated).Content.GetProperty("config").GetString();
        Assert.Contains($"DB_TOKEN={token}", spec["process"]!["env"]!.AsArray().Select(e => (string)e!));
        var withSealed = spec.DeepClone();
        var env = withSealed["process"]!["env"]!.AsArray();
        env[env.Select(e => (string)e!).ToList().IndexOf($"DB_TOKEN={token}")] = $"DB_TOKEN={sealedToken}";
        Assert.Equal(SpecDigest(withSealed), config);
        Assert.NotEqual(SpecDigest(spec), config);
    }

    [Fact]
    public async Task CreateContainer_SealedEnvThatIsNotText_PermissionDeniedAndNotCreated()
    {
        var image = await CriRequests.PushAsync(stack, "secret-cri-forged");
        var sealedBinary = await stack.SealEnvelopeAsync("default/key/cri-binary-kek", [0xff, 0xfe, 0x00, 0x01]);
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var sandbox = CriRequests.Sandbox("secret-binary");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var create = CriRequests.Container(pod, sandbox, pulled.ImageRef);
        create.Config.Envs.Add(new KeyValue { Key = "BLOB", Value = sealedBinary });

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await kubelet.Runtime.CreateContainerAsync(create));
        var containers = await kubelet.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        await CriRequests.RemovePodAsync(kubelet, pod);

        Assert.Equal((StatusCode.PermissionDenied, "NOT verified: secret 'BLOB' is not UTF-8 text: it cannot be an environment value"), (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers.Containers);
    }

    private static JsonNode SpecOf(ContainerStatusResponse status) => JsonNode.Parse(status.Info["info"])!["runtimeSpec"]!;

    private static string SpecDigest(JsonNode spec)
    {
        using var document = JsonDocument.Parse(spec.ToJsonString());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(TrustLaunch.Jose.CanonicalJson.Serialize(document.RootElement)));
    }

    [Fact]
    public async Task CreateContainer_SealedEnvWithBadSignature_PermissionDeniedAndNothingCreatedOrReleased()
    {
        var image = await CriRequests.PushAsync(stack, "secret-cri-forged");
        var parts = (await stack.SealEnvelopeAsync("default/key/cri-forged-kek", "forged"u8.ToArray())).Split('.');
        parts[3] = parts[3][..10] + (parts[3][10] == 'A' ? 'B' : 'A') + parts[3][11..];
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var sandbox = CriRequests.Sandbox("secret-forged");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var create = CriRequests.Container(pod, sandbox, pulled.ImageRef);
        create.Config.Envs.Add(new KeyValue { Key = "DB_TOKEN", Value = string.Join('.', parts) });
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await kubelet.Runtime.CreateContainerAsync(create));
        var containers = await kubelet.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        var events = (await stack.ReadLogAsync(Attested)).Skip(before).Select(r => EventLine.Parse(r.Content).Operation).ToList();
        await CriRequests.RemovePodAsync(kubelet, pod);

        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: secret 'DB_TOKEN' refused: sealed secret's signature does not verify under kid '{KbsCriFixture.SecretKid}'"),
            (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers.Containers);
        Assert.DoesNotContain(LaunchEvents.SecretReleased, events);
        Assert.DoesNotContain(LaunchEvents.ContainerCreated, events);
    }

    [Fact]
    public async Task CreateContainer_SealedVolumeFileOnNodeTheVerifierFails_PermissionDeniedWithTheBrokersReasonNoTmpfsLeft()
    {
        var image = await CriRequests.PushAsync(stack, "secret-cri-failed");
        var value = "cri-never-" + Guid.NewGuid().ToString("N");
        var volume = SecretVolume(new Dictionary<string, string> { ["api-key"] = await stack.SealEnvelopeAsync("default/key/cri-failed-kek", Encoding.UTF8.GetBytes(value)) });
        using var kubelet = new ContainerdConnection(stack.CriSocket(1));
        var sandbox = CriRequests.Sandbox("secret-failed");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var create = CriRequests.Container(pod, sandbox, pulled.ImageRef);
        create.Config.Mounts.Add(new Mount { ContainerPath = "/etc/creds", HostPath = volume, Readonly = true });
        var before = (await stack.ReadLogAsync(ToFail)).Count;

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await kubelet.Runtime.CreateContainerAsync(create));
        var containers = await kubelet.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        var after = (await stack.ReadLogAsync(ToFail)).Count;
        var leftover = System.IO.Directory.Exists(Path.Combine(AgentDataDir(ToFail), "cri-secrets", pod, "app-0"));
        await CriRequests.RemovePodAsync(kubelet, pod);

        Assert.Equal((StatusCode.PermissionDenied,
                $"NOT verified: secret 'api-key' refused: kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}"),
            (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers.Containers);
        Assert.Equal(before, after);
        Assert.False(leftover);
        Assert.DoesNotContain(value, await File.ReadAllTextAsync(ToFail.Process.LogFile));
    }
}
