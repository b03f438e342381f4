using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// A CRI endpoint that cannot open sealed secrets (no agent <c>--kbs</c> and <c>--secret-trust</c>) never passes one
/// to containerd as it is: CreateContainer is refused. (Opening them through the broker is tested on the broker stack:
/// TrustLaunch.Kbs.Tests SecretCriEndToEndTests.)
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriSealedSecretsTests(ContainerdFixture containerd)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CreateContainer_SealedEnvOrMountedFileWithoutSecretTrust_PermissionDeniedAndNotCreated(bool inEnv)
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-sealed-" + (inEnv ? "env" : "file"));
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox("sealed-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var create = CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "3600");
        const string sealedText = "sealed.eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.AAAA";
        if (inEnv)
        {
            create.Config.Envs.Add(new KeyValue { Key = "DB_TOKEN", Value = sealedText });
        }
        else
        {
            var file = Path.Combine(node.Directory, "DB_TOKEN");
            await File.WriteAllTextAsync(file, sealedText + "\n");
            create.Config.Mounts.Add(new Mount { ContainerPath = "/etc/token", HostPath = file });
        }
        var before = node.Events().Count;

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Runtime.CreateContainerAsync(create));
        var containers = await node.Direct.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } });
        await node.Kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await node.Kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });

        Assert.Equal((StatusCode.PermissionDenied,
                "NOT verified: secret 'DB_TOKEN' refused: this CRI endpoint opens no sealed secrets: it runs without an agent's --kbs and --secret-trust"),
            (refused.StatusCode, refused.Status.Detail));
        Assert.Empty(containers.Containers);
        Assert.DoesNotContain(node.Events().Skip(before), e => e.Operation == LaunchEvents.ContainerCreated);
    }
}
