using System.Text.Json;

namespace TrustLaunch.Hosting.Contracts;

// Verifier wire format. Tenant API (8881, mTLS):
//   POST   /v1/agents                  AddAgentRequest -> 201 AgentStatus | 409 exists | 404 unknown policy/agent
//   GET    /v1/agents[?state=S]        -> AgentStatus[] (those in state S: Registered, Attesting, Attested, Failed, Unreachable)
//   GET    /v1/agents/{id}             -> AgentStatus                (also to kbs certificates)
//   GET    /v1/agents/{id}/appraisal   -> AgentAppraisal             (also to kbs certificates)
//   DELETE /v1/agents/{id}             -> 204
//   PUT    /v1/agents/{id}/policy      AgentPolicyUpdate -> AgentStatus (appraised afresh from the log's start) | 404 | 409 same policy
//   POST   /v1/agents/{id}/pause | /resume -> AgentStatus
//   GET    /v1/agents/{id}/results?last=N  -> AttestationResultRecord[] (newest first)
//   POST   /v1/policies                PolicyDocument -> 201 StoredPolicy (version = previous + 1)
//   GET    /v1/policies                -> StoredPolicy[] (latest versions)
//   GET    /v1/policies/{name}[?version=V] -> StoredPolicy
//   DELETE /v1/policies/{name}         -> 204 | 409 still used by agents
//   GET    /v1/instances               -> VerifierInstanceStatus[] (verifier instances sharing the store)
//   GET    /v1/outbox[?limit=N]        -> OutboxEntryStatus[] (webhook notifications pending or dead, oldest first, N <= 1000)
// Agent-facing port (8880):
//   POST   /v1/images/attest           ImageAttestationRequest -> ImageAttestationDecision   (remote-mode launches)
//   GET    /v1/keys                    -> this instance's public key (PEM, X-Key-Id)
//   GET    /v1/keys/{kid}              -> any instance's public key by key id (PEM) | 404
//   POST   /v1/agents/{id}/attestations   (empty) -> 201 AttestationChallenge              (push mode)
//   POST   /v1/agents/{id}/attestations/{challenge_id}  QuoteEvidence -> PushAttestationResult
//          403 not the agent's registered TLS certificate | 404 not under attestation or not in push mode
//          | 409 paused, failed, unknown or used challenge | 410 expired challenge
//          (evidence that does not read as QuoteEvidence fails the agent: 200 contraindicated, "malformed evidence: …")
//   POST   /v1/agents/{id}/attestations/{challenge_id}/problem  AgentProblem -> PushAttestationResult  (instead of evidence)

/// <summary>
/// Put an agent under attestation. <c>Mode</c> is <c>pull</c> (default: the verifier polls <c>Address</c>, which
/// defaults to the one it registered) or <c>push</c> (the agent asks for challenges and posts evidence; no address).
/// </summary>
public sealed record AddAgentRequest(string AgentId, string Policy, string? Address = null, string? Mode = null);

/// <summary>Hold an agent to another policy (keylime_tenant's update): its whole launch log is appraised afresh under it.</summary>
public sealed record AgentPolicyUpdate(string Policy);

/// <summary>How an agent's evidence reaches the verifier.</summary>
public static class AttestationModes
{
    public const string Pull = "pull";
    public const string Push = "push";
}

/// <summary>Agent states as the verifier reports them.</summary>
public static class AgentStates
{
    public const string Registered = "Registered";
    public const string Attesting = "Attesting";
    public const string Attested = "Attested";
    public const string Failed = "Failed";
    public const string Unreachable = "Unreachable";

    public static IReadOnlyList<string> All { get; } = [Registered, Attesting, Attested, Failed, Unreachable];
}

/// <summary>
/// An agent's attestation state; <c>FailedEventIndex</c> is the recnum of the event that broke policy. A push-mode
/// agent whose evidence has not arrived by <c>PushDeadline</c> becomes Unreachable.
/// </summary>
public sealed record AgentStatus(
    string AgentId,
    string Address,
    string Policy,
    int PolicyVersion,
    string State,
    bool Paused,
    DateTimeOffset? LastAttestation,
    DateTimeOffset? LastSuccess,
    string? FailureReason,
    long? FailedEventIndex,
    long EventsVerified,
    long Attestations,
    string Mode = AttestationModes.Pull,
    DateTimeOffset? PushDeadline = null);

/// <summary>
/// What the verifier established of an agent from its own appraisal of the log, not from the agent's word: its state,
/// the policy it is held to, its last affirming appraisal, the boot count, the image digests a trusted publisher
/// vouched for in this boot (<c>ImageVerified</c> events the policy allowed), and the namespaces that policy confines
/// its containers to (empty: any namespace), and the containers its log created in this boot and has not deleted, with
/// the image manifest digest each runs (absent from verifiers before it). The key broker decides on these.
/// </summary>
public sealed record AgentAppraisal(
    string AgentId,
    string State,
    string Policy,
    int PolicyVersion,
    DateTimeOffset? LastSuccess,
    long BootCount,
    IReadOnlyList<string> VerifiedImages,
    IReadOnlyList<string> PolicyNamespaces,
    IReadOnlyDictionary<string, string>? Containers = null);

/// <summary>
/// A push-mode challenge: quote <c>Pcrs</c> (sha256 bank) over <c>Nonce</c> with the log records from <c>Since</c>
/// and post the evidence to <c>/v1/agents/{id}/attestations/{ChallengeId}</c> before <c>ExpiresAt</c>.
/// </summary>
public sealed record AttestationChallenge(string ChallengeId, byte[] Nonce, IReadOnlyList<int> Pcrs, long Since, DateTimeOffset ExpiresAt);

/// <summary>
/// A push-mode agent's answer to a challenge when it cannot give evidence: <c>Type</c> is one of
/// <see cref="ProblemTypes"/> (today only <see cref="ProblemTypes.LogPcrDisagree"/>), <c>Detail</c> says why.
/// </summary>
public sealed record AgentProblem(string Type, string Detail);

/// <summary>
/// The verifier's answer to push-mode evidence: the EAR status, or <c>retry</c> when it needs the log from record 0
/// (ask for a new challenge now); the agent asks again at <c>NextAttestationAt</c>.
/// </summary>
public sealed record PushAttestationResult(string Status, string? Reason, long? EventIndex, DateTimeOffset NextAttestationAt)
{
    public const string Affirming = "affirming";
    public const string Contraindicated = "contraindicated";
    public const string Retry = "retry";
}

/// <summary>
/// An attestation policy: which golden-value publishers are trusted (PEM public keys, by key id), which images may
/// run (manifest digests, or any image whose golden value a listed publisher signed), which pod namespaces may be
/// used (empty = any), the launch PCR, and expected values of other PCRs (index → lowercase hex, sha256 bank).
/// <c>Exec</c> judges <c>ContainerExec</c> commands (default: allow, still measured); <c>AllowHostNetwork</c> and
/// <c>AllowUnconfinedSeccomp</c> let containers run in the host's network namespace or without seccomp (default: no).
/// <c>GoldenTrust</c> holds the launcher's trust-policy rules (the <c>trustlaunch run --trust-policy</c> document:
/// <c>repositories</c> with <c>golden_from</c> and <c>min_created</c>, <c>revoked</c>), which the verifier applies to
/// remote-mode launches and to every <c>ImageVerified</c> it re-checks; absent = golden values must name the image's
/// own repository, nothing revoked. A member it does not know is refused, not ignored: a misspelt rule must not
/// leave the policy more permissive than its author meant.
/// </summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record PolicyDocument(
    string Name,
    IReadOnlyDictionary<string, string> TrustedPublishers,
    IReadOnlyList<string> AllowedImageDigests,
    IReadOnlyList<string> AllowedPublishers,
    IReadOnlyList<string> AllowedNamespaces,
    int LaunchPcr,
    IReadOnlyDictionary<int, string> ExpectedPcrs,
    ExecPolicy? Exec = null,
    bool AllowHostNetwork = false,
    bool AllowUnconfinedSeccomp = false,
    JsonElement? GoldenTrust = null);

/// <summary>A stored policy version.</summary>
public sealed record StoredPolicy(PolicyDocument Policy, int Version, DateTimeOffset CreatedAt);

/// <summary>
/// One attestation outcome. <c>Status</c> is the EAR status (<c>affirming</c>, <c>warning</c>,
/// <c>contraindicated</c>); <c>Token</c> is the signed EAR JWT a relying party can check offline (its <c>kid</c>
/// names the key, served by <c>GET /v1/keys/{kid}</c>). <c>InstanceId</c> is the verifier instance that produced it.
/// <c>Launches</c> are the containers whose <c>ContainerCreated</c> events this attestation verified (null: none).
/// </summary>
public sealed record AttestationResultRecord(
    long Id,
    string AgentId,
    DateTimeOffset At,
    string Status,
    string? Reason,
    long? EventIndex,
    long LogLength,
    string PolicyId,
    string Token,
    string? InstanceId = null,
    IReadOnlyList<VerifiedLaunch>? Launches = null);

/// <summary>
/// A container launch the verifier verified, as its measured <c>ContainerCreated</c> event names it: the event's
/// record number, the container id, the image manifest digest and reference, and the pod and namespace ("" when the
/// container is not a pod's).
/// </summary>
public sealed record VerifiedLaunch(long EventIndex, string Container, string Digest, string Image, string Pod, string Namespace);

/// <summary>
/// A verifier instance on the shared store: alive while it renews its heartbeat (<c>ExpiresAt</c> in the future),
/// how many agents it holds leases on, and the key id its results are signed with.
/// </summary>
public sealed record VerifierInstanceStatus(
    string InstanceId,
    string VerifierId,
    string KeyId,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    DateTimeOffset ExpiresAt,
    bool Alive,
    int Agents);

/// <summary>Webhook outbox entry states.</summary>
public static class OutboxStates
{
    public const string Pending = "pending";
    public const string Dead = "dead";
}

/// <summary>
/// A revocation notification in the webhook outbox: <c>pending</c> (retried until <c>NextAttempt</c>) or <c>dead</c>
/// (given up after the verifier's maximum attempts, kept for the operator). <c>AgentId</c> and <c>CreatedAt</c> are
/// null for entries queued before the verifier recorded them.
/// </summary>
public sealed record OutboxEntryStatus(
    long Id,
    string State,
    string? AgentId,
    string Url,
    int Attempts,
    string? LastError,
    DateTimeOffset? CreatedAt,
    DateTimeOffset NextAttempt,
    DateTimeOffset? DeadAt);

/// <summary>A remote-mode launch asks the verifier whether an image may run on the calling agent.</summary>
public sealed record ImageAttestationRequest(
    string AgentId,
    string Reference,
    string ManifestDigest,
    string ConfigDigest,
    IReadOnlyList<string> LayerDigests,
    string? RootfsDigest = null);

/// <summary>
/// The verifier's answer; when allowed, <c>Publisher</c> and <c>Golden</c> as in <c>ImageVerified</c>, the golden
/// value's rootfs tree digest, which the launcher's unpacked snapshot must have, the golden value itself (JWS,
/// compact or JSON, whose SHA-256 is <c>Golden</c>), which the launcher measures with <c>ImageVerified</c>, and the key
/// ids whose signatures on it the verifier checked (<c>ImageVerified</c>'s <c>signers</c>).
/// </summary>
public sealed record ImageAttestationDecision(bool Allow, string Reason, string? Publisher, string? Golden, string? RootfsDigest, string? GoldenValue = null,
    IReadOnlyList<string>? Signers = null);

/// <summary>The body of a revocation webhook POST; sent as a JWS (compact) signed by the verifier's key.</summary>
public sealed record RevocationNotification(
    string AgentId,
    string State,
    string Reason,
    long? EventIndex,
    DateTimeOffset At);
