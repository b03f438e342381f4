using Grpc.Core;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>containerd or the endpoint going away in the middle of kubelet's sequence: clear errors, then the sequence goes on.</summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriRecoveryTests(ContainerdFixture containerd)
{
    [Fact]
    public async Task ContainerdKilledAndRestarted_UnavailableMeanwhileThenTheContainerCarriesOn()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (pod, container) = await RunningContainerAsync(node, "app-crash", "crash-0");
        var runtime = node.Kubelet.Runtime;

        await containerd.KillAsync();
        RpcException listing, exec;
        try
        {
            listing = await Assert.ThrowsAsync<RpcException>(async () => await runtime.ListContainersAsync(new ListContainersRequest()));
            exec = await Assert.ThrowsAsync<RpcException>(async () =>
                await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "true" }, Timeout = 5 }));
        }
        finally
        {
            await containerd.StartAsync();
        }
        var status = (await runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        var back = await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "echo", "back" }, Timeout = 10 });
        await StopAndRemoveAsync(node, pod, container);

        Assert.Equal(StatusCode.Unavailable, listing.StatusCode);
        Assert.StartsWith($"TrustLaunch CRI endpoint: containerd at {containerd.Socket} is unreachable: ", listing.Status.Detail);
        Assert.Equal(StatusCode.Unavailable, exec.StatusCode);
        Assert.Equal(ContainerState.ContainerRunning, status.State);
        Assert.Equal("back\n", back.Stdout.ToStringUtf8());
        // An exec is measured before containerd is asked, so the one containerd never ran is in the log too: it over-reports, never under.
        Assert.Equal(2, node.Events().Count(e => e.Operation == LaunchEvents.ContainerExec));
        Assert.Equal([LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxStopped, LaunchEvents.PodSandboxRemoved],
            node.Events().TakeLast(4).Select(e => e.Operation));
    }

    [Fact]
    public async Task AgentRestarted_SocketBackAndImagesPulledBeforeItJudgedAgainAtCreate()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-restart");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox("restart-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });

        await node.RestartEndpointAsync();
        var version = await BackAsync(node.Kubelet);
        var container = (await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60"))).ContainerId;
        await StopAndRemoveAsync(node, pod, container);

        Assert.Equal("containerd", version.RuntimeName);
        // Never started, so never stopped: removed straight from created.
        var events = node.Events();
        Assert.Equal(
        [
            LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImageVerified,
            LaunchEvents.ContainerCreated, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxStopped, LaunchEvents.PodSandboxRemoved,
        ], events.Select(e => e.Operation));
        Assert.Equal(events[3].Content.Replace(image, $"docker.io/library/app-restart@{pushed.ManifestDigest}", StringComparison.Ordinal), events[4].Content);
        Assert.Equal(events.Select((e, i) => (long)i), node.Log.ReadFrom(0).Select(r => r.RecNum));
    }

    [Fact]
    public async Task AgentRestartedWhileAContainerRuns_ItsStopAndDeletionStillMeasured()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (pod, container) = await RunningContainerAsync(node, "app-outlived", "outlived-0");

        await node.RestartEndpointAsync();
        await BackAsync(node.Kubelet);
        await StopAndRemoveAsync(node, pod, container);

        Assert.Equal(
        [
            (LaunchEvents.ContainerStopped, $"{{\"container\":\"{container}\",\"exit_code\":137}}"), (LaunchEvents.ContainerDeleted, $"{{\"container\":\"{container}\"}}"),
            (LaunchEvents.PodSandboxStopped, $"{{\"pod\":\"{pod}\"}}"), (LaunchEvents.PodSandboxRemoved, $"{{\"pod\":\"{pod}\"}}"),
        ], node.Events().TakeLast(4));
    }

    /// <summary>
    /// Waits until the CRI socket answers again after a restart. kubelet's channel may still hold the connection the
    /// old endpoint closed: like kubelet, it retries until the endpoint is back.
    /// </summary>
    internal static Task<VersionResponse> BackAsync(ContainerdConnection kubelet) =>
        Eventually.WaitAsync(async () =>
        {
            try
            {
                return await kubelet.Runtime.VersionAsync(new VersionRequest());
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return null;
            }
        }, () => "the CRI socket did not come back after the restart", TimeSpan.FromSeconds(30));

    private static async Task<(string Pod, string Container)> RunningContainerAsync(CriTestNode node, string imageName, string podName)
    {
        var (image, pushed, _) = await CriPods.PushImageAsync(node.Containerd, imageName);
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox(podName, Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        var container = (await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "3600"))).ContainerId;
        await node.Kubelet.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        return (pod, container);
    }

    private static async Task StopAndRemoveAsync(CriTestNode node, string pod, string container)
    {
        await node.Kubelet.Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 0 });
        await node.Kubelet.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await node.Kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await node.Kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
    }
}
