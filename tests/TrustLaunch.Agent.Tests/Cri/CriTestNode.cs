using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;
using TrustLaunch.Tpm;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// One node for a test: a private swtpm and launch log, a trusted publisher key, the CRI endpoint in front of the
/// shared containerd, and CRI clients to the endpoint (as kubelet) and to containerd itself (past the endpoint).
/// </summary>
internal sealed class CriTestNode : IAsyncDisposable
{
    private readonly SwtpmFixture _swtpm = new();
    private TpmDevice? _device;
    private readonly TimeSpan _verificationLifetime;
    private readonly string? _signaturePolicy;
    private readonly string? _registriesD;

    private CriTestNode(ContainerdFixture containerd, TimeSpan verificationLifetime, string? signaturePolicy, string? registriesD)
    {
        Containerd = containerd;
        _verificationLifetime = verificationLifetime;
        _signaturePolicy = signaturePolicy;
        _registriesD = registriesD;
        Endpoint = null!;
        Log = null!;
    }

    public ContainerdFixture Containerd { get; }
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-cri-node-").FullName;
    public string Socket => Path.Combine(Directory, "cri.sock");
    public string TrustFile => Path.Combine(Directory, "publisher.pub.pem");
    public ECDsa PublisherKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public LaunchLog Log { get; private set; }
    public CriEndpoint Endpoint { get; private set; }

    /// <summary>kubelet's connection: to the endpoint's socket.</summary>
    public ContainerdConnection Kubelet { get; private set; } = null!;

    /// <summary>A connection to containerd's own socket, past the endpoint.</summary>
    public ContainerdConnection Direct { get; private set; } = null!;

    /// <summary>
    /// A node judging locally by its publisher key, behind <paramref name="signaturePolicy"/> (default: the host's
    /// policy.json) when given; the sandbox image's golden value is published with that key unless
    /// <paramref name="trustSandboxImage"/> is false.
    /// </summary>
    public static async Task<CriTestNode> StartAsync(ContainerdFixture containerd, TimeSpan? verificationLifetime = null, string? signaturePolicy = null,
        string? registriesD = null, bool trustSandboxImage = true)
    {
        var node = new CriTestNode(containerd, verificationLifetime ?? CriOptions.DefaultVerificationLifetime, signaturePolicy, registriesD);
        await File.WriteAllTextAsync(node.TrustFile, node.PublisherKey.ExportSubjectPublicKeyInfoPem());
        if (trustSandboxImage)
        {
            using var publisher = node.Publisher();
            await CriGolden.PublishAsync(containerd.SandboxImagePushed.Reference, publisher);
        }
        await node._swtpm.InitializeAsync();
        node._device = node._swtpm.OpenDevice();
        await node._device.StartupAsync();
        node.Log = await LaunchLog.OpenAsync(node._device, Path.Combine(node.Directory, "log"), LaunchPcr.Default, NullLogger.Instance, CancellationToken.None);
        node.Endpoint = await node.StartEndpointAsync();
        node.Kubelet = new ContainerdConnection(node.Socket);
        node.Direct = new ContainerdConnection(containerd.Socket);
        return node;
    }

    public PemPayloadSigner Publisher() => PemPayloadSigner.FromPem(PublisherKey.ExportPkcs8PrivateKeyPem());

    /// <summary>Every operation measured so far, in order, with its content.</summary>
    public IReadOnlyList<(string Operation, string Content)> Events() =>
        Log.ReadFrom(0).Select(r => r.Content.Split(' ', 3)).Select(p => (p[1], p[2])).ToList();

    /// <summary>The endpoint stopped and started again on the same socket and log, as a restarted agent would.</summary>
    public async Task RestartEndpointAsync()
    {
        await Endpoint.DisposeAsync();
        Endpoint = await StartEndpointAsync();
    }

    private Task<CriEndpoint> StartEndpointAsync()
    {
        var options = new CriOptions
        {
            ListenSocket = Socket,
            BackendSocket = Containerd.Socket,
            Mirrors = ContainerdFixture.MirroredRegistries.ToDictionary(r => r, _ => Containerd.Registry.Host),
            ExitPollInterval = TimeSpan.FromMilliseconds(200),
            VerificationLifetime = _verificationLifetime,
        };
        var judge = ImageJudges.Create(new ImageJudgeOptions("cri-test-node") { Trust = TrustFile, SignaturePolicy = _signaturePolicy, RegistriesD = _registriesD });
        return CriEndpoint.StartAsync(options, judge, new LaunchLogMeasurer(Log), NullLoggerFactory.Instance, Log.ReadFrom(0).Select(r => r.Content));
    }

    public async ValueTask DisposeAsync()
    {
        Kubelet?.Dispose();
        Direct?.Dispose();
        if (Endpoint is not null)
            await Endpoint.DisposeAsync();
        Log?.Dispose();
        _device?.Dispose();
        await _swtpm.DisposeAsync();
        PublisherKey.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
