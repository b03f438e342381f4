using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Verifier.Appraisal;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    private const string AgentColumns = """
        agent_id, address, policy_name, policy_version, state, paused, pcr_value, next_recnum, clock, reset_count,
        restart_count, boot_count, verified_images, last_attestation, last_success, failure_reason, failed_event_index,
        events_verified, attestations, consecutive_faults, mode, push_deadline, created_containers, generation
        """;

    public Task<bool> AddAgentAsync(AgentRecord agent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return Database.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ScalarAsync(transaction, "SELECT 1 FROM agents WHERE agent_id = @id", cancellationToken, ("@id", agent.AgentId)).ConfigureAwait(false) is not null)
                return false;
            await connection.ExecuteAsync(transaction, $"""
                INSERT INTO agents ({AgentColumns}) VALUES (@id, @address, @policy, @policy_version, @state, @paused, @pcr,
                @next, @clock, @reset, @restart, @boot, @images, @last, @success, @reason, @event, @verified, @attestations, @faults, @mode, @deadline, @containers, @generation)
                """, cancellationToken, AgentParameters(agent)).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    public Task<AgentRecord?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        Database.ReadAsync(connection => connection.QuerySingleAsync(null, $"SELECT {AgentColumns} FROM agents WHERE agent_id = @id",
            ReadAgent, cancellationToken, ("@id", agentId)), cancellationToken);

    public Task<IReadOnlyList<AgentRecord>> ListAgentsAsync(CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<AgentRecord>>(async connection => await connection.QueryAsync(null,
            $"SELECT {AgentColumns} FROM agents ORDER BY agent_id", ReadAgent, cancellationToken).ConfigureAwait(false), cancellationToken);

    public Task<bool> RemoveAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(transaction, "DELETE FROM challenges WHERE agent_id = @id", cancellationToken, ("@id", agentId)).ConfigureAwait(false);
            return await connection.ExecuteAsync(transaction, "DELETE FROM agents WHERE agent_id = @id", cancellationToken, ("@id", agentId)).ConfigureAwait(false) > 0;
        }, cancellationToken);

    public Task<AgentRecord?> ChangePolicyAsync(string agentId, StoredPolicy policy, DateTimeOffset pushDeadline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Database.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.QuerySingleAsync(transaction, $"SELECT {AgentColumns} FROM agents WHERE agent_id = @id", ReadAgent, cancellationToken,
                    ("@id", agentId)).ConfigureAwait(false) is not { } agent)
                return null;
            var updated = agent with
            {
                PolicyName = policy.Policy.Name,
                PolicyVersion = policy.Version,
                State = AgentStates.Attesting,
                Appraisal = AppraisalState.Initial,
                FailureReason = null,
                FailedEventIndex = null,
                ConsecutiveFaults = 0,
                PushDeadline = agent.IsPush ? pushDeadline : null,
                Generation = AgentRecord.NewGeneration(),
            };
            await connection.ExecuteAsync(transaction, "DELETE FROM challenges WHERE agent_id = @id", cancellationToken, ("@id", agentId)).ConfigureAwait(false);
            await connection.ExecuteAsync(transaction, """
                UPDATE agents SET policy_name = @policy, policy_version = @policy_version, state = @state, pcr_value = @pcr, next_recnum = @next,
                    clock = @clock, reset_count = @reset, restart_count = @restart, boot_count = @boot, verified_images = @images,
                    created_containers = @containers, failure_reason = @reason, failed_event_index = @event, consecutive_faults = @faults,
                    push_deadline = @deadline, generation = @generation
                WHERE agent_id = @id
                """, cancellationToken, AgentParameters(updated)).ConfigureAwait(false);
            return updated;
        }, cancellationToken);
    }

    public async Task<AgentRecord?> SetPausedAsync(string agentId, bool paused, CancellationToken cancellationToken = default)
    {
        // Resuming takes a Failed or Unreachable agent back to Attesting: the next quote is appraised from its last
        // good state against the current policy version.
        var changed = await Database.WriteAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(transaction, paused
                ? "UPDATE agents SET paused = TRUE, generation = @generation WHERE agent_id = @id"
                : """
                  UPDATE agents SET paused = FALSE, consecutive_faults = 0, generation = @generation,
                      state = CASE WHEN state IN ('Failed', 'Unreachable') THEN 'Attesting' ELSE state END,
                      failure_reason = CASE WHEN state IN ('Failed', 'Unreachable') THEN NULL ELSE failure_reason END,
                      failed_event_index = CASE WHEN state IN ('Failed', 'Unreachable') THEN NULL ELSE failed_event_index END
                  WHERE agent_id = @id
                  """, cancellationToken, ("@id", agentId), ("@generation", AgentRecord.NewGeneration())).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return changed > 0 ? await GetAgentAsync(agentId, cancellationToken).ConfigureAwait(false) : null;
    }

    public Task<AttestationResultRecord?> RecordAttestationAsync(AgentRecord agent, AttestationResultRecord result,
        string? notification, IReadOnlyList<string> webhookUrls, string? leaseHolder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(webhookUrls);
        return _results.WriteAsync((connection, transaction) =>
            WriteAttestationAsync(connection, transaction, agent, result, notification, webhookUrls, leaseHolder, cancellationToken), cancellationToken);
    }

    /// <summary>The writes of <see cref="RecordAttestationAsync"/>, inside the caller's transaction.</summary>
    private async Task<AttestationResultRecord?> WriteAttestationAsync(DbConnection connection, DbTransaction transaction, AgentRecord agent,
        AttestationResultRecord result, string? notification, IReadOnlyList<string> webhookUrls, string? leaseHolder, CancellationToken cancellationToken)
    {
        const string Update = """
            UPDATE agents SET policy_version = @policy_version, state = @state, pcr_value = @pcr, next_recnum = @next,
                clock = @clock, reset_count = @reset, restart_count = @restart, boot_count = @boot, verified_images = @images,
                created_containers = @containers,
                last_attestation = @last, last_success = @success, failure_reason = @reason, failed_event_index = @event,
                events_verified = @verified, attestations = @attestations, consecutive_faults = @faults
            WHERE agent_id = @id AND policy_name = @policy AND generation = @generation
            """;
        const string Insert = """
            INSERT INTO results (agent_id, at, status, reason, event_index, log_length, policy_id, token, instance_id, key_id, launches)
            """;
        (string, object?)[] parameters =
        [
            .. AgentParameters(agent), .. FenceParameters(leaseHolder), ("@result_agent", result.AgentId), ("@result_at", Database.Timestamp(result.At)), ("@status", result.Status),
            ("@result_reason", result.Reason), ("@result_event", result.EventIndex), ("@length", result.LogLength), ("@policy_id", result.PolicyId),
            ("@token", result.Token), ("@instance", result.InstanceId), ("@key", SigningKeyOf(result.Token)), ("@launches", LaunchesColumn(result.Launches)),
        ];
        const string Values = "@result_agent, @result_at, @status, @result_reason, @result_event, @length, @policy_id, @token, @instance, @key, @launches";
        long? id;
        if (Database.DataModifyingCtes)
        {
            // One round trip: the result row is inserted only if the fenced update changed the agent's row.
            id = (long?)await connection.ScalarAsync(transaction, $"""
                WITH updated AS ({Update}{LeaseFence(leaseHolder)} RETURNING agent_id)
                {Insert} SELECT {Values} FROM updated RETURNING id
                """, cancellationToken, parameters).ConfigureAwait(false);
        }
        else
        {
            id = await connection.ExecuteAsync(transaction, Update + LeaseFence(leaseHolder), cancellationToken, parameters).ConfigureAwait(false) == 0 ? null
                : (long?)await connection.ScalarAsync(transaction, $"{Insert} VALUES ({Values}) RETURNING id", cancellationToken, parameters).ConfigureAwait(false);
        }
        if (id is null)
            return null;
        await QueueNotificationAsync(connection, transaction, result.AgentId, notification, webhookUrls, result.At, cancellationToken).ConfigureAwait(false);
        return result with { Id = id.Value };
    }

    public Task<bool> RecordFaultAsync(AgentRecord agent, int consecutiveFaults, string state, string? reason, DateTimeOffset at, string? leaseHolder,
        string? notification = null, IReadOnlyList<string>? webhookUrls = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return Database.WriteLockingRowsAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(transaction, $"""
                    UPDATE agents SET consecutive_faults = @faults, state = @state, failure_reason = @reason, last_attestation = @at
                    WHERE agent_id = @id AND state <> 'Failed' AND generation = @generation{LeaseFence(leaseHolder)}
                    """, cancellationToken, [("@id", agent.AgentId), ("@faults", consecutiveFaults), ("@state", state), ("@reason", reason),
                    ("@at", Database.Timestamp(at)), ("@generation", agent.Generation), .. FenceParameters(leaseHolder)]).ConfigureAwait(false) == 0)
                return false;
            await QueueNotificationAsync(connection, transaction, agent.AgentId, notification, webhookUrls, at, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// The write goes through only while <c>@holder</c> holds the agent's lease. The lease row is key-share-locked until
    /// the commit, and leases change hands only by DELETE and INSERT (<see cref="MaintainLeasesAsync"/>,
    /// <see cref="LeaveAsync"/>; a renewal updates only <c>expires_at</c>, which the lock lets through, and no write
    /// ever updates <c>instance_id</c>), so a takeover waits for this write, or this write sees the lease gone; that is what
    /// lets these writes run READ COMMITTED on PostgreSQL. Not an <c>@holder IS NULL OR …</c> test: PostgreSQL cannot
    /// type a parameter that is only ever NULL.
    /// </summary>
    private string LeaseFence(string? leaseHolder) => leaseHolder is null ? ""
        : $" AND EXISTS (SELECT 1 FROM agent_leases l WHERE l.agent_id = agents.agent_id AND l.instance_id = @holder{Database.ShareLock})";

    private static (string, object?)[] FenceParameters(string? leaseHolder) => leaseHolder is null ? [] : [("@holder", leaseHolder)];

    private (string, object?)[] AgentParameters(AgentRecord a) =>
    [
        ("@id", a.AgentId), ("@address", a.Address), ("@policy", a.PolicyName), ("@policy_version", a.PolicyVersion),
        ("@state", a.State), ("@paused", a.Paused), ("@pcr", a.Appraisal.LaunchPcrValue), ("@next", a.Appraisal.NextRecNum),
        ("@clock", a.Appraisal.LastClock is { } c ? (long)c.Clock : null), ("@reset", (long?)a.Appraisal.LastClock?.ResetCount),
        ("@restart", (long?)a.Appraisal.LastClock?.RestartCount), ("@boot", a.Appraisal.BootCount),
        ("@images", JoinLines(a.Appraisal.VerifiedImages)), ("@containers", JoinContainers(a.Appraisal.CreatedContainers)),
        ("@last", Database.Timestamp(a.LastAttestation)), ("@success", Database.Timestamp(a.LastSuccess)),
        ("@reason", a.FailureReason), ("@event", a.FailedEventIndex), ("@verified", a.EventsVerified),
        ("@attestations", a.Attestations), ("@faults", a.ConsecutiveFaults), ("@mode", a.Mode), ("@deadline", Database.Timestamp(a.PushDeadline)),
        ("@generation", a.Generation),
    ];

    private static AgentRecord ReadAgent(DbDataReader r)
    {
        TpmClockInfo? clock = r.IsDBNull(8) ? null
            : new TpmClockInfo((ulong)r.GetInt64(8), (uint)r.GetInt64(9), (uint)r.GetInt64(10), Safe: true);
        var appraisal = new AppraisalState(r.GetBlob(6), r.GetInt64(7), clock, r.GetInt64(11), SplitLines(r.GetString(12)), SplitContainers(r.GetString(22)));
        return new AgentRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetBoolean(5),
            appraisal, r.GetNullableTimestamp(13), r.GetNullableTimestamp(14), r.GetNullableString(15),
            r.GetNullableInt64(16), r.GetInt64(17), r.GetInt64(18), r.GetInt32(19))
        {
            Mode = r.GetString(20),
            PushDeadline = r.GetNullableTimestamp(21),
            Generation = r.GetInt64(23),
        };
    }

    // Digests and container ids never hold a line break (EventPolicy refuses such ids), so one per line is unambiguous.
    private static string JoinLines(IReadOnlySet<string> values) => string.Join('\n', values.Order(StringComparer.Ordinal));

    private static HashSet<string> SplitLines(string text) => new(text.Length == 0 ? [] : text.Split('\n'), StringComparer.Ordinal);

    // A container per line: its id, a tab and its image digest (neither holds a control character). Rows from before
    // the digests were kept have ids only: their digest is empty, which no broker rule on images matches.
    private static string JoinContainers(IReadOnlyDictionary<string, string> containers) =>
        string.Join('\n', containers.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}\t{c.Value}"));

    private static Dictionary<string, string> SplitContainers(string text) =>
        SplitLines(text).Select(line => line.Split('\t', 2)).ToDictionary(p => p[0], p => p.Length == 2 ? p[1] : "", StringComparer.Ordinal);
}
