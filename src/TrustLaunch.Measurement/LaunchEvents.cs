using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>
/// The operations the trusted launcher measures (domain <c>trustlaunch</c>) and the content each carries. Launcher
/// and verifier share these so an event means the same on both sides; the verifier treats any other operation as
/// out of policy. Content is serialised as RFC 8785 canonical JSON with these snake_case member names.
/// </summary>
public static class LaunchEvents
{
    public const string Domain = "trustlaunch";

    public const string ImagePulled = "ImagePulled";
    public const string ImageVerified = "ImageVerified";
    public const string ImageRejected = "ImageRejected";
    public const string ContainerCreated = "ContainerCreated";
    public const string ContainerStarted = "ContainerStarted";
    public const string ContainerStopped = "ContainerStopped";
    public const string ContainerDeleted = "ContainerDeleted";
    public const string ContainerExec = "ContainerExec";
    public const string PodSandboxCreated = "PodSandboxCreated";
    public const string PodSandboxStopped = "PodSandboxStopped";
    public const string PodSandboxRemoved = "PodSandboxRemoved";
    public const string KeyReleased = "KeyReleased";
    public const string SecretReleased = "SecretReleased";
    public const string WorkloadEvent = "WorkloadEvent";

    public static readonly IReadOnlySet<string> Operations = new HashSet<string>(StringComparer.Ordinal)
    {
        ImagePulled, ImageVerified, ImageRejected, ContainerCreated, ContainerStarted, ContainerStopped,
        ContainerDeleted, ContainerExec, PodSandboxCreated, PodSandboxStopped, PodSandboxRemoved, KeyReleased,
        SecretReleased, WorkloadEvent,
    };
}

/// <summary><c>ImagePulled</c>: the image reference as given and the manifest digest it resolved to.</summary>
public sealed record ImagePulledEvent(
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("digest")] string Digest);

/// <summary>
/// <c>ImageVerified</c>: the image matched a golden value. <c>mode</c> is <c>local</c> or <c>remote</c>;
/// <c>publisher</c> is the key id that signed the golden value; <c>golden</c> the SHA-256 of the golden value JWS;
/// <c>rootfs</c> the rootfs tree digest that was checked; <c>signers</c> the key ids (RFC 7638 thumbprints) whose
/// signatures on the golden value were checked, the publisher first (absent in events from before countersignatures,
/// which keep their bytes).
/// </summary>
public sealed record ImageVerifiedEvent(
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("publisher")] string Publisher,
    [property: JsonPropertyName("golden")] string Golden,
    [property: JsonPropertyName("rootfs")] string Rootfs,
    [property: JsonPropertyName("signers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Signers = null);

/// <summary><c>ImageRejected</c>: the launcher refused the image; <c>digest</c> is empty when it never resolved.</summary>
public sealed record ImageRejectedEvent(
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>
/// <c>ContainerCreated</c>: <c>pod</c> is the pod id (empty outside Kubernetes), <c>namespace</c> the pod's
/// namespace (empty outside Kubernetes), <c>config</c> the SHA-256 of the runtime bundle's config.json.
/// <c>network</c> is <see cref="ContainerIsolation.NetworkPod"/> (a network namespace of its own) or
/// <see cref="ContainerIsolation.NetworkHost"/>; <c>seccomp</c> is <see cref="ContainerIsolation.SeccompDefault"/>
/// or <see cref="ContainerIsolation.SeccompUnconfined"/>: anything looser than a pod's defaults is measured here.
/// Containers created through the CRI endpoint: <c>container</c> is the CRI container id, <c>pod</c> the pod sandbox id,
/// <c>config</c> the SHA-256 of the OCI runtime spec containerd generated, and <c>pod_name</c> / <c>pod_uid</c> the
/// pod's (absent for <c>trustlaunch run</c>, whose events keep their bytes).
/// </summary>
public sealed record ContainerCreatedEvent(
    [property: JsonPropertyName("container")] string Container,
    [property: JsonPropertyName("pod")] string Pod,
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("config")] string Config,
    [property: JsonPropertyName("network")] string Network,
    [property: JsonPropertyName("seccomp")] string Seccomp,
    [property: JsonPropertyName("pod_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PodName = null,
    [property: JsonPropertyName("pod_uid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PodUid = null);

/// <summary>The values <see cref="ContainerCreatedEvent"/> measures for a container's isolation.</summary>
public static class ContainerIsolation
{
    public const string NetworkPod = "pod";
    public const string NetworkHost = "host";
    public const string SeccompDefault = "default";
    public const string SeccompUnconfined = "unconfined";
}

/// <summary><c>ContainerStarted</c>, <c>ContainerDeleted</c>: the container id.</summary>
public sealed record ContainerEvent(
    [property: JsonPropertyName("container")] string Container);

/// <summary>
/// <c>ContainerStopped</c>: the container id and its exit status (128 + signal when killed). <c>exit_code</c> is null
/// when the status is unknown (its monitor died before reaping it); <c>reason</c> then says why, and is absent otherwise.
/// </summary>
public sealed record ContainerStoppedEvent(
    [property: JsonPropertyName("container")] string Container,
    [property: JsonPropertyName("exit_code")] int? ExitCode,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary><c>ContainerExec</c>: the container id and the command executed in it.</summary>
public sealed record ContainerExecEvent(
    [property: JsonPropertyName("container")] string Container,
    [property: JsonPropertyName("command")] IReadOnlyList<string> Command);

/// <summary><c>PodSandboxCreated</c>: a pod sandbox the CRI endpoint ran — its sandbox id and the pod's name, namespace and uid.</summary>
public sealed record PodSandboxCreatedEvent(
    [property: JsonPropertyName("pod")] string Pod,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("uid")] string Uid);

/// <summary><c>PodSandboxStopped</c>, <c>PodSandboxRemoved</c>: the pod sandbox id.</summary>
public sealed record PodSandboxEvent(
    [property: JsonPropertyName("pod")] string Pod);

/// <summary>
/// <c>KeyReleased</c>: the key broker released a resource to this node after attesting it: <c>resource</c> is its URI
/// without the broker (<c>kbs:///REPOSITORY/TYPE/TAG</c>), <c>broker</c> the broker's URL, <c>container</c> the
/// container it went to through its workload gateway (absent when the node itself asked, whose events keep their
/// bytes). Never the bytes.
/// </summary>
public sealed record KeyReleasedEvent(
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("broker")] string Broker,
    [property: JsonPropertyName("container"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Container = null);

/// <summary>
/// <c>SecretReleased</c>: the agent unsealed a sealed secret and is about to hand its value over: <c>name</c> is what
/// the caller calls it, <c>sealed_digest</c> is <c>sha256:HEX</c> of the whole <c>sealed.…</c> string's UTF-8 bytes
/// (so a publisher can tell which sealed form was opened), <c>container</c> as in <see cref="KeyReleasedEvent"/>.
/// Never the value.
/// </summary>
public sealed record SecretReleasedEvent(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sealed_digest")] string SealedDigest,
    [property: JsonPropertyName("container"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Container = null)
{
    /// <summary>A secret's name is a file name: 1-255 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>, not <c>.</c> or <c>..</c>.</summary>
    public static bool IsName(string name) =>
        name.Length is > 0 and <= 255 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public static bool IsDigest(string digest) =>
        digest.Length == 71 && digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.AsSpan(7).ContainsAnyExcept("0123456789abcdef") is false;
}

/// <summary>
/// <c>WorkloadEvent</c>: an event a container appended through its workload gateway (CoCo's AAEL
/// <c>POST /aa/aael</c>) or a guest component of the node (the attestation agent's ExtendRuntimeMeasurement on the node's
/// socket): <c>container</c> is the calling container, which the agent knows from the connection, never from the
/// request (absent for the node's own); <c>domain</c>, <c>operation</c> and <c>content</c> are the caller's. The domain
/// is never <see cref="LaunchEvents.Domain"/>.
/// </summary>
public sealed record WorkloadEventEvent(
    [property: JsonPropertyName("container"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Container,
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("operation")] string Operation,
    [property: JsonPropertyName("content")] string Content)
{
    public const int MaxDomainLength = 64;
    public const int MaxOperationLength = 64;
    public const int MaxContentLength = 4096;

    /// <summary>Null when a workload may append this event, else why not.</summary>
    public static string? Problem(string domain, string operation, string content)
    {
        if (domain == LaunchEvents.Domain)
            return $"domain '{LaunchEvents.Domain}' is TrustLaunch's own: a workload cannot append its events";
        if (!IsName(domain, MaxDomainLength))
            return $"domain is not 1-{MaxDomainLength} letters, digits, '.', '_', '-' or '/'";
        if (!IsName(operation, MaxOperationLength))
            return $"operation is not 1-{MaxOperationLength} letters, digits, '.', '_', '-' or '/'";
        if (content.Length > MaxContentLength || content.Any(char.IsControl))
            return $"content is over {MaxContentLength} characters or holds a control character";
        return null;
    }

    private static bool IsName(string value, int max) =>
        value.Length > 0 && value.Length <= max && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/');
}
