using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Appraisal;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// An agent under attestation as the verifier stores it: where to reach it, which policy, its state, and the running
/// appraisal state (last good launch-PCR value, next record, clock) that the next quote continues from.
/// <see cref="ConsecutiveFaults"/> counts network faults since the last answer. A push-mode agent (<see cref="Mode"/>)
/// is never polled: it must post evidence before <see cref="PushDeadline"/>.
/// </summary>
public sealed record AgentRecord(
    string AgentId,
    string Address,
    string PolicyName,
    int PolicyVersion,
    string State,
    bool Paused,
    AppraisalState Appraisal,
    DateTimeOffset? LastAttestation,
    DateTimeOffset? LastSuccess,
    string? FailureReason,
    long? FailedEventIndex,
    long EventsVerified,
    long Attestations,
    int ConsecutiveFaults)
{
    public string Mode { get; init; } = AttestationModes.Pull;
    public DateTimeOffset? PushDeadline { get; init; }
    public bool IsPush => Mode == AttestationModes.Push;

    /// <summary>
    /// Which version of the row's tenant-set part this record was read from: a random value every tenant write (add,
    /// policy change, pause, resume) sets anew, never one an attestation round writes. A round's write is fenced on it,
    /// so a round that began before such a change writes nothing, however long its poller kept the record.
    /// </summary>
    public long Generation { get; init; }

    public static AgentRecord New(string agentId, string address, string policy, int policyVersion) =>
        new(agentId, address, policy, policyVersion, AgentStates.Registered, false, AppraisalState.Initial, null, null, null, null, 0, 0, 0)
        {
            Generation = NewGeneration(),
        };

    /// <summary>A fresh generation: random, so a removed and re-added agent never gets the one an old record holds.</summary>
    public static long NewGeneration() => BitConverter.ToInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(sizeof(long)));

    public AgentStatus ToStatus() => new(AgentId, Address, PolicyName, PolicyVersion, State, Paused, LastAttestation, LastSuccess,
        FailureReason, FailedEventIndex, EventsVerified, Attestations, Mode, PushDeadline);

    /// <param name="policyNamespaces">The namespaces of the policy version the agent is held to (empty: any).</param>
    public AgentAppraisal ToAppraisal(IReadOnlyList<string> policyNamespaces) => new(AgentId, State, PolicyName, PolicyVersion, LastSuccess,
        Appraisal.BootCount, [.. Appraisal.VerifiedImages.Order(StringComparer.Ordinal)], policyNamespaces,
        new SortedDictionary<string, string>(Appraisal.CreatedContainers.ToDictionary(), StringComparer.Ordinal));
}

/// <summary>What removing a policy did.</summary>
public enum PolicyRemoval
{
    Removed,
    NotFound,
    InUse,
}

/// <summary>A signed revocation notification waiting for delivery to one webhook URL.</summary>
public sealed record OutboxEntry(long Id, string Url, string Body, int Attempts);

/// <summary>A verifier instance as it announces itself on the store: id, EAR verifier id, and its signing key.</summary>
public sealed record VerifierInstance(string InstanceId, string VerifierId, string KeyId, string PublicKeyPem, DateTimeOffset StartedAt);

/// <summary>An agent leased to this instance, with what scheduling its next attestation needs and the generation its
/// row is at (a record the poller kept from another generation is read again).</summary>
public sealed record HeldAgent(string AgentId, DateTimeOffset? LastAttestation, int ConsecutiveFaults, long Generation);

/// <summary>Webhook outbox entries still being retried and those given up (dead letters).</summary>
public sealed record OutboxCounts(long Pending, long Dead);

/// <summary>
/// Which attestation results are kept: those younger than <see cref="MaxAge"/> and among each agent's
/// <see cref="PerAgent"/> newest (either may be unset); each agent's newest result is always kept.
/// </summary>
public sealed record ResultRetention(TimeSpan? MaxAge, int? PerAgent)
{
    public static ResultRetention KeepAll { get; } = new(null, null);

    public bool KeepsAll => MaxAge is null && PerAgent is null;
}

/// <summary>What one pass over dead verifier instances and retired signing keys removed.</summary>
public sealed record RetiredRemoval(int Instances, int Keys);
