using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>kubelet's calls for a pod with one container, through the CRI endpoint to a real containerd 1.6.</summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriKubeletSequenceTests(ContainerdFixture containerd)
{
    [Fact]
    public async Task OnePodOneContainer_EveryStepForwardedAndMeasuredInOrder()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-sequence");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var runtime = node.Kubelet.Runtime;
        var images = node.Kubelet.Images;

        var version = await runtime.VersionAsync(new VersionRequest { Version = "v1" });
        Assert.All(new[] { version.Version, version.RuntimeName, version.RuntimeVersion, version.RuntimeApiVersion }, v => Assert.NotEmpty(v));
        Assert.Equal("containerd", version.RuntimeName);
        var sandbox = CriPods.Sandbox("web-0", Path.Combine(node.Directory, "pods"));
        var pod = (await runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var container = (await runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "3600"))).ContainerId;
        await runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var status = (await runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        var listedRunning = (await node.Endpoint.Interception.ListContainersAsync(CancellationToken.None)).Single(c => c.Name == container);
        var exec = await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "echo", "hello" }, Timeout = 10 });
        var failing = await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "false" }, Timeout = 10 });
        await runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 0 });
        var stopped = (await runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        var listedStopped = (await node.Endpoint.Interception.ListContainersAsync(CancellationToken.None)).Single(c => c.Name == container);
        await runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container }));

        var stored = (await images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } })).Image;
        Assert.Equal(pulled.ImageRef, stored.Id);
        Assert.Contains($"docker.io/library/app-sequence@{pushed.ManifestDigest}", stored.RepoDigests);
        Assert.Equal(ContainerState.ContainerRunning, status.State);
        Assert.Equal($"docker.io/library/app-sequence@{pushed.ManifestDigest}", status.ImageRef);
        Assert.Equal("hello\n", exec.Stdout.ToStringUtf8());
        Assert.Equal(0, exec.ExitCode);
        Assert.Equal(1, failing.ExitCode);
        Assert.Equal(ContainerState.ContainerExited, stopped.State);
        Assert.Equal(137, stopped.ExitCode);
        // What trustlaunch ps shows of the pod's container, running and then exited.
        Assert.Equal(("running", pod, "web-0", CriPods.Namespace, "cri", "docker.io/library/app-sequence", pushed.ManifestDigest.ToString(), (int?)null),
            (listedRunning.Status, listedRunning.Pod, listedRunning.PodName, listedRunning.Namespace, listedRunning.Source, listedRunning.Image, listedRunning.ImageDigest,
                listedRunning.ExitCode));
        Assert.Equal(("exited", (int?)137), (listedStopped.Status, listedStopped.ExitCode));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var all = node.Events();
        // The sandbox image, which containerd already holds, is judged before the pod is created.
        using (var sandboxImage = JsonDocument.Parse(all[0].Content))
        {
            Assert.Equal((LaunchEvents.ImageVerified, $"registry.k8s.io/pause@{containerd.SandboxImagePushed.ManifestDigest}", containerd.SandboxImagePushed.ManifestDigest),
                (all[0].Operation, sandboxImage.RootElement.GetProperty("image").GetString(), sandboxImage.RootElement.GetProperty("digest").GetString()));
        }
        var events = all.Skip(1).ToList();
        Assert.Equal(
        [
            LaunchEvents.PodSandboxCreated, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted,
            LaunchEvents.ContainerExec, LaunchEvents.ContainerExec, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxStopped,
            LaunchEvents.PodSandboxRemoved,
        ], events.Select(e => e.Operation));
        Assert.Equal($"{{\"name\":\"web-0\",\"namespace\":\"{CriPods.Namespace}\",\"pod\":\"{pod}\",\"uid\":\"{sandbox.Metadata.Uid}\"}}", events[0].Content);
        Assert.Equal($"{{\"digest\":\"{pushed.ManifestDigest}\",\"image\":\"{image}\"}}", events[1].Content);
        using var verified = JsonDocument.Parse(events[2].Content);
        Assert.Equal("local", verified.RootElement.GetProperty("mode").GetString());
        Assert.Equal(pushed.ManifestDigest, verified.RootElement.GetProperty("digest").GetString());
        using var created = JsonDocument.Parse(events[3].Content);
        var c = created.RootElement;
        Assert.Equal(container, c.GetProperty("container").GetString());
        Assert.Equal(pod, c.GetProperty("pod").GetString());
        Assert.Equal(CriPods.Namespace, c.GetProperty("namespace").GetString());
        Assert.Equal("web-0", c.GetProperty("pod_name").GetString());
        Assert.Equal(sandbox.Metadata.Uid, c.GetProperty("pod_uid").GetString());
        Assert.Equal(image, c.GetProperty("image").GetString());
        Assert.Equal(pushed.ManifestDigest, c.GetProperty("digest").GetString());
        Assert.Matches("^sha256:[0-9a-f]{64}$", c.GetProperty("config").GetString());
        Assert.Equal(ContainerIsolation.NetworkHost, c.GetProperty("network").GetString());
        Assert.Equal(ContainerIsolation.SeccompUnconfined, c.GetProperty("seccomp").GetString());
        Assert.Equal($"{{\"container\":\"{container}\"}}", events[4].Content);
        Assert.Equal($"{{\"command\":[\"/bin/busybox\",\"echo\",\"hello\"],\"container\":\"{container}\"}}", events[5].Content);
        Assert.Equal($"{{\"container\":\"{container}\",\"exit_code\":137}}", events[7].Content);
        Assert.Equal($"{{\"container\":\"{container}\"}}", events[8].Content);
        Assert.Equal($"{{\"pod\":\"{pod}\"}}", events[9].Content);
        Assert.Equal($"{{\"pod\":\"{pod}\"}}", events[10].Content);
    }

    [Fact]
    public async Task ContainerExitingOnItsOwn_StoppedMeasuredWithItsExitCode()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-exit");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var runtime = node.Kubelet.Runtime;
        var sandbox = CriPods.Sandbox("job-0", Path.Combine(node.Directory, "pods"));
        var pod = (await runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        var container = (await runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sh", "-c", "exit 3"))).ContainerId;
        await runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!node.Events().Any(e => e.Operation == LaunchEvents.ContainerStopped) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });

        var events = node.Events();
        Assert.Equal($"{{\"container\":\"{container}\",\"exit_code\":3}}", Assert.Single(events, e => e.Operation == LaunchEvents.ContainerStopped).Content);
        Assert.Equal($"{{\"container\":\"{container}\"}}", Assert.Single(events, e => e.Operation == LaunchEvents.ContainerDeleted).Content);
        // containerd removes the pod's containers with it: their deletion is measured before the pod's.
        Assert.Equal([LaunchEvents.PodSandboxStopped, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxRemoved], events.TakeLast(3).Select(e => e.Operation));
    }

    [Fact]
    public async Task CallerTimeouts_ExecSyncPastItsTimeoutAndAGracefulStop_ContainerdDecides()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-timeouts");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var runtime = node.Kubelet.Runtime;
        var sandbox = CriPods.Sandbox("slow-0", Path.Combine(node.Directory, "pods"));
        var pod = (await runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        var container = (await runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "3600"))).ContainerId;
        await runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });

        var timedOut = await Assert.ThrowsAsync<RpcException>(async () =>
            await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "sleep", "30" }, Timeout = 1 }, deadline: DateTime.UtcNow.AddSeconds(20)));
        // PID 1 ignores SIGTERM: containerd waits the whole grace period, then kills it; the endpoint adds no deadline of its own.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 2 }, deadline: DateTime.UtcNow.AddSeconds(30));
        stopping.Stop();
        await runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });

        Assert.Equal(StatusCode.DeadlineExceeded, timedOut.StatusCode);
        Assert.InRange(stopping.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(25));
        Assert.Equal($"{{\"container\":\"{container}\",\"exit_code\":137}}", Assert.Single(node.Events(), e => e.Operation == LaunchEvents.ContainerStopped).Content);
    }
}
