using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// A second CRI endpoint on a <see cref="CriTestNode"/>'s swtpm and launch log, built by <see cref="ImageJudges"/>
/// from the judge options a test gives (trusted keys, trust file, signature policy) and with the registry settings it
/// gives (auth files, registries.conf, certs.d) — what <c>serve agent --cri-*</c> passes, and the node's own endpoint
/// does not take. kubelet talks to it through <see cref="Kubelet"/>; the node's endpoint stays idle.
/// </summary>
internal sealed class CriTrustEndpoint : IAsyncDisposable
{
    private readonly CriEndpoint _endpoint;

    private CriTrustEndpoint(CriEndpoint endpoint, string socket)
    {
        _endpoint = endpoint;
        Kubelet = new ContainerdConnection(socket);
    }

    public ContainerdConnection Kubelet { get; }

    /// <param name="mirrors">Where the endpoint reads each registry's images (<c>--cri-registry-mirror</c>); default: containerd's mirrors, the node's loopback registry.</param>
    public static async Task<CriTrustEndpoint> StartAsync(CriTestNode node, ImageJudgeOptions judge, RegistryClientOptions? registry = null,
        IReadOnlyDictionary<string, string>? mirrors = null)
    {
        var socket = Path.Combine(node.Directory, $"cri-trust-{Guid.NewGuid():N}.sock");
        var options = new CriOptions
        {
            ListenSocket = socket,
            BackendSocket = node.Containerd.Socket,
            Mirrors = mirrors ?? ContainerdFixture.MirroredRegistries.ToDictionary(r => r, _ => node.Containerd.Registry.Host),
            ExitPollInterval = TimeSpan.FromMilliseconds(200),
        };
        var endpoint = await CriEndpoint.StartAsync(options, ImageJudges.Create(judge), new LaunchLogMeasurer(node.Log), NullLoggerFactory.Instance,
            node.Log.ReadFrom(0).Select(r => r.Content), registry);
        return new CriTrustEndpoint(endpoint, socket);
    }

    public async ValueTask DisposeAsync()
    {
        Kubelet.Dispose();
        await _endpoint.DisposeAsync();
    }
}
