using System.Security.Cryptography;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>CRI requests as kubelet sends them for a pod (on the host's network unless asked otherwise) and its containers, and the images they run.</summary>
internal static class CriRequests
{
    /// <summary>A busybox image of its own pushed as <c>library/NAME:1</c>, its golden value published; kubelet's name for it.</summary>
    public static async Task<string> PushAsync(KbsCriFixture stack, string name)
    {
        await PublishAsync(stack, name);
        return KubeletName(name);
    }

    /// <summary><see cref="PushAsync"/>, returning what was pushed (kubelet's name for it: <see cref="KubeletName"/>).</summary>
    public static async Task<PushedImage> PublishAsync(KbsCriFixture stack, string name)
    {
        var marker = new Dictionary<string, byte[]> { ["/etc/trustlaunch-test"] = RandomNumberGenerator.GetBytes(32) };
        var pushed = await TestImages.BuildAndPushAsync(stack.Containerd.Registry, $"library/{name}", "1", marker);
        (await KbsBrokerStack.CliAsync("golden", "publish", pushed.Reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(stack.Directory, "golden-" + name)))
            .EnsureSuccess("golden publish");
        return pushed;
    }

    public static string KubeletName(string name) => $"docker.io/library/{name}:1";

    /// <param name="network"><see cref="NamespaceMode.Node"/>: the host's network; <see cref="NamespaceMode.Pod"/>: a namespace of the pod's own.</param>
    public static PodSandboxConfig Sandbox(string name, NamespaceMode network = NamespaceMode.Node) => new()
    {
        Metadata = new PodSandboxMetadata { Name = name, Namespace = "tenant-a", Uid = Guid.NewGuid().ToString() },
        LogDirectory = Path.Combine(Path.GetTempPath(), "tl-kbs-cri-pods"),
        Linux = new LinuxPodSandboxConfig
        {
            SecurityContext = new LinuxSandboxSecurityContext { NamespaceOptions = new NamespaceOption { Network = network } },
        },
    };

    /// <summary>A sleeping container named <paramref name="name"/>, in the sandbox's network.</summary>
    public static CreateContainerRequest Container(string pod, PodSandboxConfig sandbox, string image, string name = "app") => new()
    {
        PodSandboxId = pod,
        SandboxConfig = sandbox,
        Config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = name },
            Image = new ImageSpec { Image = image },
            Command = { "/bin/busybox", "sleep", "3600" },
            LogPath = name + ".log",
            Linux = new LinuxContainerConfig
            {
                SecurityContext = new LinuxContainerSecurityContext
                {
                    NamespaceOptions = new NamespaceOption { Network = sandbox.Linux.SecurityContext.NamespaceOptions.Network, Pid = NamespaceMode.Container },
                    Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault },
                },
            },
        },
    };

    public static async Task RemovePodAsync(ContainerdConnection kubelet, string pod)
    {
        await kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
    }
}
