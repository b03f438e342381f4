namespace TrustLaunch.Agent.Cri;

/// <summary>
/// Where the CRI endpoint listens and what it forwards to: <c>--cri-listen unix:///run/trustlaunch/cri.sock
/// --cri-backend unix:///run/containerd/containerd.sock</c>, and the registry mirrors containerd pulls through (so the
/// endpoint reads manifests and golden values where containerd will fetch the image).
/// </summary>
public sealed class CriOptions
{
    /// <summary>kubelet's limit for one CRI message either way.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>The namespace containerd's CRI plugin keeps its images, containers and snapshots in.</summary>
    public const string ContainerdNamespace = "k8s.io";

    /// <summary>Path of the unix socket kubelet connects to.</summary>
    public required string ListenSocket { get; init; }

    /// <summary>Path of containerd's own unix socket.</summary>
    public required string BackendSocket { get; init; }

    /// <summary>Registry host (as in image references, e.g. <c>docker.io</c>) → host[:port] that serves it.</summary>
    public IReadOnlyDictionary<string, string> Mirrors { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// How long a verification at PullImage stands for CreateContainer; past it the image is judged again (golden value
    /// expiry, revocation, a verifier's changed policy), as it is for an image the endpoint did not pull.
    /// </summary>
    public TimeSpan VerificationLifetime { get; init; } = DefaultVerificationLifetime;

    public static readonly TimeSpan DefaultVerificationLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How CreateContainer opens sealed env values and mounted files (by default it refuses them).</summary>
    public CriSealedSecrets SealedSecrets { get; init; } = CriSealedSecrets.Refusing;

    /// <summary>The broker the layer keys of encrypted images come through; none: encrypted images are refused.</summary>
    public TrustLaunch.Agent.Kbs.NodeKeyBroker? KeyBroker { get; init; }

    /// <summary>The workload gateway each CRI container gets (a <c>--kbs</c> agent's); none: they get none.</summary>
    public TrustLaunch.Agent.Gateway.WorkloadGateway? Gateway { get; init; }

    /// <summary>How often containers are checked for exits, to measure <c>ContainerStopped</c> with the exit code.</summary>
    public TimeSpan ExitPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The path of a <c>unix://</c> endpoint (or of a bare absolute path); throws on anything else.</summary>
    public static string SocketPath(string endpoint, string option)
    {
        const string scheme = "unix://";
        var path = endpoint.StartsWith(scheme, StringComparison.Ordinal) ? endpoint[scheme.Length..] : endpoint;
        if (!Path.IsPathRooted(path) || path.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"{option} '{endpoint}' is not unix:///ABSOLUTE/PATH");
        return path;
    }

    /// <summary>Parses <c>REGISTRY=HOST[:PORT]</c> mirror specs.</summary>
    public static IReadOnlyDictionary<string, string> ParseMirrors(IEnumerable<string> specs)
    {
        var mirrors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var equals = spec.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == spec.Length - 1 || spec.AsSpan(equals + 1).Contains('/'))
                throw new ArgumentException($"registry mirror '{spec}' is not REGISTRY=HOST[:PORT]");
            if (!mirrors.TryAdd(spec[..equals], spec[(equals + 1)..]))
                throw new ArgumentException($"registry mirror for '{spec[..equals]}' given twice");
        }
        return mirrors;
    }
}
