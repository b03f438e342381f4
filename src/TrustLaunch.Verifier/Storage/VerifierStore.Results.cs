using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    public Task<IReadOnlyList<AttestationResultRecord>> GetResultsAsync(string agentId, int last, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<AttestationResultRecord>>(async connection => await connection.QueryAsync(null, """
                SELECT id, agent_id, at, status, reason, event_index, log_length, policy_id, token, instance_id FROM results
                WHERE agent_id = @id ORDER BY id DESC LIMIT @last
                """, ReadResult, cancellationToken, ("@id", agentId), ("@last", last)).ConfigureAwait(false), cancellationToken);

    public Task<IReadOnlyList<OutboxEntry>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<OutboxEntry>>(async connection => await connection.QueryAsync(null,
                "SELECT id, url, body, attempts FROM webhook_outbox WHERE next_attempt <= @now ORDER BY id LIMIT @limit",
                r => new OutboxEntry(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)), cancellationToken,
                ("@now", Database.Timestamp(now)), ("@limit", limit)).ConfigureAwait(false), cancellationToken);

    public Task MarkDeliveredAsync(long id, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync(transaction, "DELETE FROM webhook_outbox WHERE id = @id", cancellationToken, ("@id", id)), cancellationToken);

    public Task MarkAttemptFailedAsync(long id, DateTimeOffset nextAttempt, string error, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync(transaction,
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt = @next, last_error = @error WHERE id = @id",
                cancellationToken, ("@id", id), ("@next", Database.Timestamp(nextAttempt)), ("@error", error)), cancellationToken);

    private static AttestationResultRecord ReadResult(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetTimestamp(2), r.GetString(3), r.GetNullableString(4),
        r.GetNullableInt64(5), r.GetInt64(6), r.GetString(7), r.GetString(8), r.GetNullableString(9));
}
