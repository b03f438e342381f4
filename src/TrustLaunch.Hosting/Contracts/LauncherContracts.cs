using System.Text.Json.Serialization;

namespace TrustLaunch.Hosting.Contracts;

/// <summary>
/// <c>POST /v1/containers</c> on the agent's unix socket: one <c>trustlaunch run</c>, launched by the agent. Paths
/// are absolute and read by the agent (the socket is root's only): <see cref="DataDir"/> holds the content store,
/// snapshots and containers; <see cref="Trust"/> and <see cref="TrustPolicy"/> (local mode) the publisher keys and
/// trust policy; <see cref="DecryptionKeys"/> the private keys of encrypted layers. Remote mode asks
/// <see cref="Verifier"/> with the agent's own certificate, or the one <see cref="TlsDir"/> and <see cref="TlsName"/>
/// name when given. <see cref="RegistryPassword"/> is never logged. <see cref="AuthFile"/>,
/// <see cref="RegistriesConf"/>, <see cref="CertsDir"/>, <see cref="SignaturePolicy"/> and <see cref="RegistriesD"/>
/// are the registry settings and containers-policy.json of <c>run</c>'s options; null = the defaults under
/// <c>/etc/containers</c> (and the auth files' search path), read by the agent on this same host. <see cref="Secrets"/>
/// are the sealed secrets (<c>--secret NAME=FILE</c>, the files' <c>sealed.…</c> text) the agent opens for the container.
/// </summary>
public sealed record RunContainerRequest(
    string DataDir,
    string Reference,
    string Name,
    string Runtime,
    string Mode,
    string Network,
    string Seccomp,
    long PidsLimit,
    bool Attach,
    string Pod = "",
    string Namespace = "",
    string? Platform = null,
    IReadOnlyList<string>? Args = null,
    string? Trust = null,
    string? TrustPolicy = null,
    string? Verifier = null,
    string? AgentId = null,
    IReadOnlyList<string>? DecryptionKeys = null,
    IReadOnlyList<string>? InsecureRegistries = null,
    string? RegistryUsername = null,
    string? RegistryPassword = null,
    string? TlsDir = null,
    string? TlsName = null,
    string? AuthFile = null,
    string? RegistriesConf = null,
    string? CertsDir = null,
    string? SignaturePolicy = null,
    string? RegistriesD = null)
{
    public IReadOnlyList<RunContainerSecret>? Secrets { get; init; }

    public override string ToString() => $"RunContainerRequest {{ Name = {Name}, Reference = {Reference} }}";
}

/// <summary>One <c>--secret NAME=FILE</c> of <see cref="RunContainerRequest"/>: the name of <c>/run/secrets/NAME</c> and the sealed form.</summary>
public sealed record RunContainerSecret(string Name, string Sealed)
{
    public override string ToString() => $"RunContainerSecret {{ Name = {Name} }}";
}

/// <summary><c>POST /v1/containers/{name}/stop</c>: SIGTERM, SIGKILL after <see cref="TimeoutSeconds"/>.</summary>
public sealed record StopContainerRequest(string DataDir, int TimeoutSeconds);

/// <summary>
/// A container on this node as <c>ps</c> lists it: launched by <c>trustlaunch run</c> (<see cref="Source"/>
/// <c>run</c>, pod members as given to run, <see cref="PodName"/> empty) or by the CRI endpoint (<c>cri</c>: the
/// sandbox id, pod name and namespace kubelet gave). <see cref="Status"/>: created, running, exited, unknown.
/// </summary>
public sealed record NodeContainer(
    string Name,
    string Image,
    string ImageDigest,
    string Pod,
    string Namespace,
    string ConfigDigest,
    DateTimeOffset Created,
    string Status,
    int Pid,
    int? ExitCode,
    DateTimeOffset? Finished,
    string? Network,
    string? Seccomp,
    string? ExitReason,
    string PodName = "",
    string Source = NodeContainer.RunSource)
{
    public const string RunSource = "run";
    public const string CriSource = "cri";
}

/// <summary>Problem types of the launcher's endpoints.</summary>
public static class LauncherProblemTypes
{
    /// <summary>The image was refused (measured as <c>ImageRejected</c>); the detail starts with <c>NOT verified:</c>.</summary>
    public const string NotVerified = "urn:trustlaunch:problem:not-verified";
}

/// <summary>
/// The body of <c>POST /v1/containers</c> with <c>attach</c>: frames of one kind byte, a 4-byte big-endian length and
/// the payload — <see cref="Output"/> (the container's stdout and stderr, as its log holds them), then one
/// <see cref="Exit"/> (4-byte big-endian exit status) or <see cref="Error"/> (a UTF-8 message) that ends it.
/// </summary>
public static class AttachFrames
{
    public const string MediaType = "application/vnd.trustlaunch.attach";
    public const byte Output = (byte)'o';
    public const byte Exit = (byte)'x';
    public const byte Error = (byte)'e';
    public const int MaxPayload = 1 << 20;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RunContainerRequest))]
[JsonSerializable(typeof(StopContainerRequest))]
[JsonSerializable(typeof(NodeContainer))]
[JsonSerializable(typeof(IReadOnlyList<NodeContainer>))]
public sealed partial class LauncherContractsJsonContext : JsonSerializerContext;
