using TrustLaunch.Measurement;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Launcher;

/// <summary>How the launcher decides whether an image may run.</summary>
public enum LaunchMode
{
    /// <summary>The launcher checks the golden value against its own trusted publisher keys ("secure boot mode").</summary>
    Local,

    /// <summary>The verifier decides from the image measurement; the launcher follows its answer.</summary>
    Remote,
}

/// <summary>One <c>trustlaunch run</c>.</summary>
public sealed record LaunchRequest(
    ImageReference Reference,
    string Name,
    LaunchMode Mode,
    string Pod = "",
    string Namespace = "",
    Platform? Platform = null,
    IReadOnlyList<string>? Args = null)
{
    public IReadOnlyList<DecryptionKey> DecryptionKeys { get; init; } = [];

    /// <summary>The key-encryption keys of layers wrapped for the <c>trustlaunch</c> key provider (the agent's key broker); null: none.</summary>
    public IKeyEncryptionKeySource? KeyEncryptionKeys { get; init; }

    /// <summary>Sealed secrets given to the container as read-only files under <see cref="ContainerSecrets.ContainerPath"/>.</summary>
    public IReadOnlyList<LaunchSecret> Secrets { get; init; } = [];

    /// <summary>The OCI runtime (name or path) recorded for the container, so ps, stop and rm drive the same one.</summary>
    public string? Runtime { get; init; }

    /// <summary>Share the host's network namespace (<c>--net host</c>): only when asked, and measured.</summary>
    public bool HostNetwork { get; init; }

    /// <summary>Run without the default seccomp profile (<c>--seccomp unconfined</c>): only when asked, and measured.</summary>
    public bool SeccompUnconfined { get; init; }

    public long PidsLimit { get; init; } = RuntimeBundle.DefaultPidsLimit;

    /// <summary>The host directory of the container's workload gateway socket, bound at /run/trustlaunch (a <c>--kbs</c> agent's launches).</summary>
    public string? WorkloadGatewayDirectory { get; init; }

    public string Network => HostNetwork ? ContainerIsolation.NetworkHost : ContainerIsolation.NetworkPod;

    public string Seccomp => SeccompUnconfined ? ContainerIsolation.SeccompUnconfined : ContainerIsolation.SeccompDefault;

    public RuntimeBundleOptions BundleOptions() => new()
    {
        Command = Args is { Count: > 0 } args ? args : null,
        HostNetwork = HostNetwork,
        SeccompUnconfined = SeccompUnconfined,
        PidsLimit = PidsLimit,
        ReadOnlyBinds = WorkloadGatewayDirectory is { } gateway ? [new ReadOnlyBind(gateway, Gateway.WorkloadGateway.ContainerDirectory)] : [],
    };
}

/// <summary>The image did not match a valid golden value; the refusal was measured as <c>ImageRejected</c>.</summary>
public sealed class ImageNotVerifiedException(string reason, Exception? inner = null) : Exception($"NOT verified: {reason}", inner)
{
    public string Reason { get; } = reason;
}
