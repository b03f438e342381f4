using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The workload gateway of containers created through the CRI endpoint of a <c>--kbs</c> agent (real containerd, runc):
/// the container sees its socket at /run/trustlaunch/gateway.sock, and a call on it (made through the container's own
/// root, <c>/proc/PID/root</c>, as busybox has no unix-socket client) is answered as the container the verifier saw
/// created: containerd's id and the image digest.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsCriFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayCriEndToEndTests(KbsCriFixture stack)
{
    private FleetNode Node => stack.Nodes[0];

    private string Gateways => Path.Combine(Path.GetDirectoryName(KbsBrokerStack.SocketOf(Node))!, "gateway");

    private sealed record Started(string Pod, string Container, int Pid, JsonNode Spec);

    private sealed record Answer(HttpStatusCode Status, string Body);

    private sealed record Pod(string Id, PodSandboxConfig Sandbox, string ImageRef);

    /// <summary>A pod in <paramref name="network"/>, with <paramref name="image"/> (kubelet's name) pulled for it.</summary>
    private static async Task<Pod> RunPodAsync(ContainerdConnection kubelet, string image, string podName, NamespaceMode network = NamespaceMode.Node)
    {
        var sandbox = CriRequests.Sandbox(podName, network);
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        return new Pod(pod, sandbox, pulled.ImageRef);
    }

    /// <summary>A sleeping container <paramref name="name"/> of <paramref name="pod"/>, created and started.</summary>
    private static async Task<Started> StartContainerAsync(ContainerdConnection kubelet, Pod pod, string name = "app")
    {
        var container = (await kubelet.Runtime.CreateContainerAsync(CriRequests.Container(pod.Id, pod.Sandbox, pod.ImageRef, name))).ContainerId;
        await kubelet.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var info = JsonNode.Parse((await kubelet.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container, Verbose = true })).Info["info"])!;
        return new Started(pod.Id, container, (int)info["pid"]!, info["runtimeSpec"]!);
    }

    /// <summary>A host-network pod with one sleeping container of <paramref name="image"/>, created and started.</summary>
    private static async Task<Started> StartAsync(ContainerdConnection kubelet, string image, string podName) =>
        await StartContainerAsync(kubelet, await RunPodAsync(kubelet, image, podName));

    /// <summary>GET /info on 127.0.0.1:8006 from inside <paramref name="container"/> (busybox nc); the status line and the
    /// container the body names, or <c>refused</c>. nc's input stays open a while: a client that half-closes is one that went away, to Kestrel.</summary>
    private static async Task<string> InfoOn8006Async(ContainerdConnection kubelet, string container)
    {
        var exec = await kubelet.Runtime.ExecSyncAsync(new ExecSyncRequest
        {
            ContainerId = container,
            Timeout = 20,
            Cmd = { "/bin/busybox", "sh", "-c", "(printf 'GET /info HTTP/1.0\r\n\r\n'; sleep 2) | nc 127.0.0.1 8006 || echo refused" },
        });
        var output = exec.Stdout.ToStringUtf8();
        if (output == "refused\n")
            return "refused";
        var split = output.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"not an HTTP response: {output}");
        using var body = JsonDocument.Parse(output[(split + 4)..]);
        return $"{output[..output.IndexOf("\r\n", StringComparison.Ordinal)]} {body.RootElement.GetProperty("container").GetString()}";
    }

    /// <summary>The socket as the container sees it, reached through its root.</summary>
    private static string SocketInside(Started started) => $"/proc/{started.Pid}/root/run/trustlaunch/gateway.sock";

    /// <summary>The host directory the spec binds at /run/trustlaunch.</summary>
    private static JsonNode GatewayMount(Started started) =>
        Assert.Single(started.Spec["mounts"]!.AsArray(), m => (string?)m!["destination"] == "/run/trustlaunch")!;

    /// <summary>GET <paramref name="path"/> on <paramref name="socket"/>, asked again while the broker has not yet seen
    /// the container in the verifier's view of the log.</summary>
    private static async Task<Answer> GetAsync(string socket, string path)
    {
        using var client = UnixSocketHttp.Create(socket);
        return await Eventually.WaitAsync(async () =>
        {
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            return body.Contains("not created in the verifier", StringComparison.Ordinal) ? null : new Answer(response.StatusCode, body);
        }, () => $"the broker never saw the container behind {socket}");
    }

    private static string Detail(string body) => JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;

    private static string Detail(Answer answer, string member) => JsonDocument.Parse(answer.Body).RootElement.GetProperty(member).GetString()!;

    [Fact]
    public async Task CriContainer_ReadsItsGrantedResourceThroughItsSocket_AnsweredAsContainerdsIdNo8006OnTheNodesNetwork()
    {
        var image = await CriRequests.PublishAsync(stack, "gateway-cri");
        var secret = "gateway-cri-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await stack.PutResourceAsync("default/gateway-cri/granted", Encoding.UTF8.GetBytes(secret));
        await stack.GrantToContainersAsync("default/gateway-cri/granted", image.ManifestDigest);
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var started = await StartAsync(kubelet, CriRequests.KubeletName("gateway-cri"), "gateway-granted");

        var inside = await kubelet.Runtime.ExecSyncAsync(new ExecSyncRequest
        {
            ContainerId = started.Container,
            Timeout = 10,
            Cmd = { "/bin/busybox", "sh", "-c", "test -S /run/trustlaunch/gateway.sock && echo socket; grep ' /run/trustlaunch ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1" },
        });
        var resource = await GetAsync(SocketInside(started), "/cdh/resource/default/gateway-cri/granted");
        var info = await GetAsync(SocketInside(started), "/info");
        using var host = new TcpClient();
        var no8006 = await Assert.ThrowsAsync<SocketException>(() => host.ConnectAsync("127.0.0.1", 8006));
        var log = (await stack.ReadLogAsync(Node)).Select(r => EventLine.Parse(r.Content)).ToList();
        await CriRequests.RemovePodAsync(kubelet, started.Pod);

        Assert.Equal("socket\nro\n", inside.Stdout.ToStringUtf8());
        Assert.Equal(Gateways, Path.GetDirectoryName((string)GatewayMount(started)["source"]!));
        Assert.Equal((HttpStatusCode.OK, secret), (resource.Status, resource.Body));
        using (var document = JsonDocument.Parse(info.Body))
            Assert.Equal((started.Container, image.ManifestDigest), (document.RootElement.GetProperty("container").GetString(), document.RootElement.GetProperty("image_digest").GetString()));
        Assert.Equal(SocketError.ConnectionRefused, no8006.SocketErrorCode);
        // The verifier's view names the same container: its ContainerCreated, whose spec digest covers the gateway's mount, and the release.
        var created = log.Single(e => e.Operation == LaunchEvents.ContainerCreated && e.Content.GetProperty("container").GetString() == started.Container);
        Assert.Equal(image.ManifestDigest, created.Content.GetProperty("digest").GetString());
        Assert.Contains(log, e => e.Operation == LaunchEvents.KeyReleased && e.Content.GetRawText().Contains($"\"container\":\"{started.Container}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CriContainer_AnotherImagesResource_RefusedWithTheBrokersReason()
    {
        var owner = await CriRequests.PublishAsync(stack, "gateway-cri");
        var other = await CriRequests.PublishAsync(stack, "gateway-cri-other");
        await stack.PutResourceAsync("default/gateway-cri/owned", "owned"u8.ToArray());
        var version = await stack.GrantToContainersAsync("default/gateway-cri/owned", owner.ManifestDigest);
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var started = await StartAsync(kubelet, CriRequests.KubeletName("gateway-cri-other"), "gateway-other");

        var answer = await GetAsync(SocketInside(started), "/cdh/resource/default/gateway-cri/owned");
        await CriRequests.RemovePodAsync(kubelet, started.Pod);

        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Equal($"kbs refused: PolicyDeny: no rule of resource policy version {version} lets container '{started.Container}' (image {other.ManifestDigest}) of agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read default/gateway-cri/owned",
            Detail(answer.Body));
    }

    [Fact]
    public async Task PodNetwork_ItsOnlyContainerAnsweredOn8006_NoneThereOnceASecondJoins_EachKeepsItsSocket()
    {
        await CriRequests.PushAsync(stack, "gateway-cri");
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var pod = await RunPodAsync(kubelet, CriRequests.KubeletName("gateway-cri"), "gateway-network", NamespaceMode.Pod);
        var first = await StartContainerAsync(kubelet, pod, "first");

        var alone = await InfoOn8006Async(kubelet, first.Container);
        var second = await StartContainerAsync(kubelet, pod, "second");
        var shared = (await InfoOn8006Async(kubelet, first.Container), await InfoOn8006Async(kubelet, second.Container));
        var sockets = (Detail(await GetAsync(SocketInside(first), "/info"), "container"), Detail(await GetAsync(SocketInside(second), "/info"), "container"));
        var agentLog = await File.ReadAllTextAsync(Node.Process.LogFile);
        await CriRequests.RemovePodAsync(kubelet, pod.Id);

        Assert.Equal($"HTTP/1.1 200 OK {first.Container}", alone);
        Assert.Equal(("refused", "refused"), shared);
        Assert.Equal((first.Container, second.Container), sockets);
        Assert.Contains($"Workload gateway of container {second.Container}: no 127.0.0.1:8006: its pod {pod.Id} shares one network namespace with {first.Container}", agentLog,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/run/trustlaunch")]
    [InlineData("/run//trustlaunch/../trustlaunch/extra/")]
    public async Task CreateContainer_MountOntoTheGatewaysDirectory_RefusedBeforeContainerdSeesIt(string target)
    {
        var hostPath = System.IO.Directory.CreateDirectory(Path.Combine(stack.Directory, "gateway-cri-mount-" + Guid.NewGuid().ToString("N"))).FullName;

        var (refused, containers, measured) = await CreateRefusedAsync(new Mount { ContainerPath = target, HostPath = hostPath });

        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: mount onto {target} refused: /run/trustlaunch is where the agent mounts the container's workload gateway"),
            (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers);
        Assert.Empty(measured);
    }

    [Fact]
    public async Task CreateContainer_HostPathLinkedToTheAgentsDataDirectory_RefusedAsReachingOtherGateways()
    {
        var link = Path.Combine(stack.Directory, "gateway-cri-link-" + Guid.NewGuid().ToString("N"));
        File.CreateSymbolicLink(link, Path.GetDirectoryName(Gateways)!);

        var (refused, containers, measured) = await CreateRefusedAsync(new Mount { ContainerPath = "/data", HostPath = link });

        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: mount of host path {link} refused: it reaches the agent's workload gateway directory {Gateways}, where other containers' gateways are"),
            (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers);
        Assert.Empty(measured);
    }

    /// <summary>CreateContainer with <paramref name="mount"/> in a new pod: the refusal, the pod's containers and what was measured meanwhile.</summary>
    private async Task<(RpcException Refused, IReadOnlyList<Container> Containers, IReadOnlyList<string> Measured)> CreateRefusedAsync(Mount mount)
    {
        await CriRequests.PushAsync(stack, "gateway-cri");
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var sandbox = CriRequests.Sandbox("gateway-mount");
        var pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = CriRequests.KubeletName("gateway-cri") }, SandboxConfig = sandbox });
        var create = CriRequests.Container(pod, sandbox, pulled.ImageRef);
        create.Config.Mounts.Add(mount);
        var before = (await stack.ReadLogAsync(Node)).Count;
        var directories = System.IO.Directory.GetDirectories(Gateways);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await kubelet.Runtime.CreateContainerAsync(create));
        var containers = await kubelet.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        var measured = (await stack.ReadLogAsync(Node)).Skip(before).Select(r => r.Content).ToList();
        Assert.Equal(directories, System.IO.Directory.GetDirectories(Gateways));
        await CriRequests.RemovePodAsync(kubelet, pod);
        return (refused, containers.Containers, measured);
    }

    [Fact]
    public async Task GatewayDirectory_GoneAfterRemoveContainer_AndWhenThePodIsStopped()
    {
        await CriRequests.PushAsync(stack, "gateway-cri");
        using var kubelet = new ContainerdConnection(stack.CriSocket(0));
        var removed = await StartAsync(kubelet, CriRequests.KubeletName("gateway-cri"), "gateway-removed");
        var stopped = await StartAsync(kubelet, CriRequests.KubeletName("gateway-cri"), "gateway-stopped");
        var removedDirectory = (string)GatewayMount(removed)["source"]!;
        var stoppedDirectory = (string)GatewayMount(stopped)["source"]!;
        var socketsBefore = (File.Exists(Path.Combine(removedDirectory, "gateway.sock")), File.Exists(Path.Combine(stoppedDirectory, "gateway.sock")));

        await kubelet.Runtime.StopContainerAsync(new TrustLaunch.Agent.Cri.V1.StopContainerRequest { ContainerId = removed.Container, Timeout = 0 });
        var afterStop = System.IO.Directory.Exists(removedDirectory);
        await kubelet.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = removed.Container });
        var afterRemove = System.IO.Directory.Exists(removedDirectory);
        await kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = stopped.Pod });
        var afterPodStop = System.IO.Directory.Exists(stoppedDirectory);
        await CriRequests.RemovePodAsync(kubelet, stopped.Pod);
        await CriRequests.RemovePodAsync(kubelet, removed.Pod);

        Assert.Equal((true, true), socketsBefore);
        Assert.Equal((true, false, false), (afterStop, afterRemove, afterPodStop));
    }
}
