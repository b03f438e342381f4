using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// The verifier's state: versioned policies, agents with their running appraisal state, append-only results and the
/// webhook outbox. Every method is one transaction: an attestation's state change, its result and its notifications
/// are committed together or not at all.
/// </summary>
public interface IVerifierStore
{
    Task<StoredPolicy> AddPolicyAsync(PolicyDocument policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>The latest version when <paramref name="version"/> is null.</summary>
    Task<StoredPolicy?> GetPolicyAsync(string name, int? version = null, CancellationToken cancellationToken = default);

    /// <summary>The latest version of every policy, by name.</summary>
    Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes every version, unless an agent still uses the policy.</summary>
    Task<PolicyRemoval> RemovePolicyAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>False when the agent id is already under attestation.</summary>
    Task<bool> AddAgentAsync(AgentRecord agent, CancellationToken cancellationToken = default);

    Task<AgentRecord?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AgentRecord>> ListAgentsAsync(CancellationToken cancellationToken = default);

    Task<bool> RemoveAgentAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Holds the agent to <paramref name="policy"/> and starts its appraisal over (state Attesting, appraisal state
    /// <see cref="Appraisal.AppraisalState.Initial"/>, its push challenge dropped, a push-mode agent given
    /// <paramref name="pushDeadline"/>), so the whole launch log is judged under the new policy. Null when the agent is
    /// not under attestation.
    /// </summary>
    Task<AgentRecord?> ChangePolicyAsync(string agentId, StoredPolicy policy, DateTimeOffset pushDeadline, CancellationToken cancellationToken = default);

    /// <summary>Pauses, or resumes (a Failed or Unreachable agent is attested afresh from its last good state).</summary>
    Task<AgentRecord?> SetPausedAsync(string agentId, bool paused, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves the agent's new state (appraisal columns only: a concurrent pause or policy change stands), appends the
    /// result and queues <paramref name="notification"/> for every URL, in one transaction (shared with results recorded
    /// at the same time, each keeping its own checks and answer). Returns null, writing nothing, when the agent was
    /// removed meanwhile or changed by a tenant write since it was read (another <see cref="AgentRecord.Generation"/>: re-added,
    /// <see cref="ChangePolicyAsync"/>, <see cref="SetPausedAsync"/>), or when <paramref name="leaseHolder"/> (an instance id; null
    /// = no lease check) no longer holds the agent's lease: a late result never overwrites the new holder's state.
    /// </summary>
    Task<AttestationResultRecord?> RecordAttestationAsync(AgentRecord agent, AttestationResultRecord result,
        string? notification, IReadOnlyList<string> webhookUrls, string? leaseHolder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves a network fault: the fault count, and the state when it changes (e.g. to Unreachable), queueing
    /// <paramref name="notification"/> (when not null) for every URL in the same transaction. False, writing nothing,
    /// when the agent is gone, Failed, changed by a tenant write since <paramref name="agent"/> was read, or no longer
    /// leased to <paramref name="leaseHolder"/> (null = no check).
    /// </summary>
    Task<bool> RecordFaultAsync(AgentRecord agent, int consecutiveFaults, string state, string? reason, DateTimeOffset at, string? leaseHolder,
        string? notification = null, IReadOnlyList<string>? webhookUrls = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a push-mode agent's outstanding challenge; <c>Since</c> becomes 0 when the last evidence needed the full
    /// log. A Registered agent becomes Attesting. Null, writing nothing, when no push-mode agent has that id.
    /// </summary>
    Task<StoredChallenge?> IssueChallengeAsync(StoredChallenge challenge, CancellationToken cancellationToken = default);

    Task<StoredChallenge?> GetChallengeAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="RecordAttestationAsync"/> for push-mode evidence: in the same transaction consumes the challenge and
    /// moves the agent's deadline. Returns null, writing nothing, when the challenge was used or replaced meanwhile.
    /// </summary>
    Task<AttestationResultRecord?> RecordPushAttestationAsync(AgentRecord agent, AttestationResultRecord result, string? notification,
        IReadOnlyList<string> webhookUrls, string challengeId, DateTimeOffset pushDeadline, CancellationToken cancellationToken = default);

    /// <summary>Consumes the challenge without a result and makes the next one ask for the log from record 0; false when it was used or replaced.</summary>
    Task<bool> RequestFullLogAsync(string agentId, string challengeId, CancellationToken cancellationToken = default);

    /// <summary>Sets a push-mode agent's deadline (when added or resumed); false when there is no such push-mode agent.</summary>
    Task<bool> SetPushDeadlineAsync(string agentId, DateTimeOffset deadline, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a push-mode agent Unreachable with <paramref name="reason"/> when its deadline is before
    /// <paramref name="now"/> and it is neither paused, Failed nor Unreachable already; false otherwise (evidence that
    /// moved the deadline meanwhile wins). Queues <paramref name="notification"/> for every URL when it does.
    /// </summary>
    Task<bool> MarkDeadlineMissedAsync(string agentId, string reason, DateTimeOffset now, string? notification = null,
        IReadOnlyList<string>? webhookUrls = null, CancellationToken cancellationToken = default);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<AttestationResultRecord>> GetResultsAsync(string agentId, int last, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<OutboxEntry>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    Task MarkDeliveredAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts a failed delivery; the entry is next due at <paramref name="nextAttempt"/>, or, on its
    /// <paramref name="maxAttempts"/>-th failure, dead from <paramref name="now"/> (kept, never retried). True when it died.
    /// </summary>
    Task<bool> MarkAttemptFailedAsync(long id, string error, DateTimeOffset now, DateTimeOffset nextAttempt, int maxAttempts,
        CancellationToken cancellationToken = default);

    /// <summary>Pending and dead outbox entries, oldest first.</summary>
    Task<IReadOnlyList<OutboxEntryStatus>> ListOutboxAsync(int limit, CancellationToken cancellationToken = default);

    Task<OutboxCounts> CountOutboxAsync(CancellationToken cancellationToken = default);

    /// <summary>Attestation results waiting in the group-commit queue.</summary>
    int QueuedResults { get; }

    /// <summary>
    /// One lease round for <paramref name="instance"/>, in one transaction: heartbeat (alive until now + lease, its
    /// key published), renew its leases, then even out: with N agents and L live instances, the instance ranked r
    /// by id holds N / L, one more when r &lt; N mod L. It releases its excess (never an agent in
    /// <paramref name="inFlight"/>) and takes unleased or expired agents up to its share. Returns what it holds, with each
    /// row's generation (the poller keeps agent records between rounds and reads again only those of another generation).
    /// </summary>
    Task<IReadOnlyList<HeldAgent>> MaintainLeasesAsync(VerifierInstance instance, IReadOnlySet<string> inFlight, DateTimeOffset now, TimeSpan lease,
        CancellationToken cancellationToken = default);

    /// <summary>An instance leaving: drops its leases and its heartbeat, so the others take its agents at once.</summary>
    Task LeaveAsync(string instanceId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Every instance that ever ran on this store, by id, with the agents it holds unexpired leases on.</summary>
    Task<IReadOnlyList<VerifierInstanceStatus>> ListInstancesAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>The PEM public key an instance published under <paramref name="keyId"/>, or null.</summary>
    Task<string?> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes at most <paramref name="batch"/> of the oldest results <paramref name="retention"/> no longer keeps, in
    /// one short transaction; returns how many. An agent's newest result is never deleted.
    /// </summary>
    Task<int> PruneResultsAsync(ResultRetention retention, DateTimeOffset now, int batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes instances dead for <paramref name="grace"/> and signing keys unused for as long that no stored result or
    /// outbox entry names (at most <paramref name="batch"/> of each).
    /// </summary>
    Task<RetiredRemoval> PruneRetiredAsync(DateTimeOffset now, TimeSpan grace, int batch, CancellationToken cancellationToken = default);
}
