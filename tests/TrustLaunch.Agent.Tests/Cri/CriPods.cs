using System.Security.Cryptography;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// Requests as kubelet sends them for a host-network pod with one container (no hostname: the pod shares the node's
/// UTS namespace too), and test images in the loopback registry.
/// </summary>
internal static class CriPods
{
    public const string Namespace = "tenant-a";

    public static PodSandboxConfig Sandbox(string name, string logDirectory) => new()
    {
        Metadata = new PodSandboxMetadata { Name = name, Namespace = Namespace, Uid = Guid.NewGuid().ToString() },
        LogDirectory = logDirectory,
        Linux = new LinuxPodSandboxConfig
        {
            SecurityContext = new LinuxSandboxSecurityContext { NamespaceOptions = new NamespaceOption { Network = NamespaceMode.Node } },
        },
    };

    public static CreateContainerRequest Container(string pod, PodSandboxConfig sandbox, string image, params string[] command) => new()
    {
        PodSandboxId = pod,
        SandboxConfig = sandbox,
        Config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = "app" },
            Image = new ImageSpec { Image = image },
            Command = { command },
            LogPath = "app.log",
            Linux = new LinuxContainerConfig
            {
                SecurityContext = new LinuxContainerSecurityContext
                {
                    NamespaceOptions = new NamespaceOption { Network = NamespaceMode.Node, Pid = NamespaceMode.Container },
                },
            },
        },
    };

    /// <summary>The file whose random content gives each test image a layer (and a containerd snapshot) of its own.</summary>
    public const string MarkerFile = "etc/trustlaunch-test";

    /// <summary>
    /// A busybox image of its own (an extra layer with random content, so no other image shares its snapshot) pushed as
    /// <c>library/NAME:1</c>; returns the name kubelet uses, through the docker.io mirror, and the marker's content.
    /// </summary>
    public static async Task<(string Kubelet, PushedImage Pushed, byte[] Marker)> PushImageAsync(ContainerdFixture containerd, string name)
    {
        var marker = RandomNumberGenerator.GetBytes(32);
        var pushed = await TestImages.BuildAndPushAsync(containerd.Registry, $"library/{name}", "1", new Dictionary<string, byte[]> { ["/" + MarkerFile] = marker });
        return ($"docker.io/library/{name}:1", pushed, marker);
    }
}
