using System.Data.Common;
using System.Globalization;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    public Task<StoredChallenge?> IssueChallengeAsync(StoredChallenge challenge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        return Database.WriteAsync<StoredChallenge?>(async (connection, transaction) =>
        {
            // Attesting from the first challenge on, as a pull-mode agent is from its first quote.
            var agents = await connection.ExecuteAsync(transaction, """
                UPDATE agents SET state = CASE WHEN state = 'Registered' THEN 'Attesting' ELSE state END
                WHERE agent_id = @id AND mode = 'push'
                """, cancellationToken, ("@id", challenge.AgentId)).ConfigureAwait(false);
            if (agents == 0)
                return null;
            var fullLog = await connection.ScalarAsync(transaction, "SELECT full_log FROM challenges WHERE agent_id = @id", cancellationToken,
                ("@id", challenge.AgentId)).ConfigureAwait(false) is { } flag && Convert.ToBoolean(flag, CultureInfo.InvariantCulture);
            var issued = challenge with { Since = fullLog ? 0 : challenge.Since, Consumed = false };
            await connection.ExecuteAsync(transaction, """
                INSERT INTO challenges (agent_id, challenge_id, nonce, pcrs, since, issued_at, expires_at, consumed, full_log)
                VALUES (@id, @challenge, @nonce, @pcrs, @since, @issued, @expires, FALSE, FALSE)
                ON CONFLICT (agent_id) DO UPDATE SET challenge_id = excluded.challenge_id, nonce = excluded.nonce, pcrs = excluded.pcrs,
                    since = excluded.since, issued_at = excluded.issued_at, expires_at = excluded.expires_at, consumed = FALSE
                """, cancellationToken, ("@id", issued.AgentId), ("@challenge", issued.ChallengeId), ("@nonce", issued.Nonce),
                ("@pcrs", string.Join(',', issued.Pcrs)), ("@since", issued.Since), ("@issued", Database.Timestamp(issued.IssuedAt)),
                ("@expires", Database.Timestamp(issued.ExpiresAt))).ConfigureAwait(false);
            return issued;
        }, cancellationToken);
    }

    public Task<StoredChallenge?> GetChallengeAsync(string agentId, CancellationToken cancellationToken = default) =>
        Database.ReadAsync(connection => connection.QuerySingleAsync(null, """
            SELECT agent_id, challenge_id, nonce, pcrs, since, issued_at, expires_at, consumed FROM challenges WHERE agent_id = @id
            """, ReadChallenge, cancellationToken, ("@id", agentId)), cancellationToken);

    public Task<AttestationResultRecord?> RecordPushAttestationAsync(AgentRecord agent, AttestationResultRecord result, string? notification,
        IReadOnlyList<string> webhookUrls, string challengeId, DateTimeOffset pushDeadline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(webhookUrls);
        return _results.WriteAsync(async (connection, transaction) =>
        {
            if (!await ConsumeAsync(connection, transaction, agent.AgentId, challengeId, fullLog: false, cancellationToken).ConfigureAwait(false))
                return null;
            await connection.ExecuteAsync(transaction, "UPDATE agents SET push_deadline = @deadline WHERE agent_id = @id", cancellationToken,
                ("@id", agent.AgentId), ("@deadline", Database.Timestamp(pushDeadline))).ConfigureAwait(false);
            return await WriteAttestationAsync(connection, transaction, agent, result, notification, webhookUrls, null, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<bool> RequestFullLogAsync(string agentId, string challengeId, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) => ConsumeAsync(connection, transaction, agentId, challengeId, fullLog: true, cancellationToken),
            cancellationToken);

    public Task<bool> SetPushDeadlineAsync(string agentId, DateTimeOffset deadline, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) => await connection.ExecuteAsync(transaction,
            "UPDATE agents SET push_deadline = @deadline WHERE agent_id = @id AND mode = 'push'", cancellationToken,
            ("@id", agentId), ("@deadline", Database.Timestamp(deadline))).ConfigureAwait(false) > 0, cancellationToken);

    public Task<bool> MarkDeadlineMissedAsync(string agentId, string reason, DateTimeOffset now, string? notification = null,
        IReadOnlyList<string>? webhookUrls = null, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(transaction, """
                    UPDATE agents SET state = 'Unreachable', failure_reason = @reason, consecutive_faults = consecutive_faults + 1
                    WHERE agent_id = @id AND mode = 'push' AND paused = FALSE AND state NOT IN ('Failed', 'Unreachable') AND push_deadline < @now
                    """, cancellationToken, ("@id", agentId), ("@reason", reason), ("@now", Database.Timestamp(now))).ConfigureAwait(false) == 0)
                return false;
            await QueueNotificationAsync(connection, transaction, agentId, notification, webhookUrls, now, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Marks the challenge used (once: false when it was used or replaced already).</summary>
    private static async Task<bool> ConsumeAsync(DbConnection connection, DbTransaction transaction, string agentId, string challengeId, bool fullLog,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(transaction, """
            UPDATE challenges SET consumed = TRUE, full_log = @full_log
            WHERE agent_id = @id AND challenge_id = @challenge AND consumed = FALSE
            """, cancellationToken, ("@id", agentId), ("@challenge", challengeId), ("@full_log", fullLog)).ConfigureAwait(false) > 0;

    private static StoredChallenge ReadChallenge(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetBlob(2),
        [.. r.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))],
        r.GetInt64(4), r.GetTimestamp(5), r.GetTimestamp(6), r.GetBoolean(7));
}
