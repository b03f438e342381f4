using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class SqliteVerifierStore
{
    public Task<IReadOnlyList<AttestationResultRecord>> GetResultsAsync(string agentId, int last, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<AttestationResultRecord>>(async connection =>
        {
            using var command = Command(connection, null, """
                SELECT id, agent_id, at, status, reason, event_index, log_length, policy_id, token FROM results
                WHERE agent_id = $id ORDER BY id DESC LIMIT $last
                """, ("$id", agentId), ("$last", last));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<AttestationResultRecord>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                list.Add(ReadResult(reader));
            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<OutboxEntry>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<OutboxEntry>>(async connection =>
        {
            using var command = Command(connection, null,
                "SELECT id, url, body, attempts FROM webhook_outbox WHERE next_attempt <= $now ORDER BY id LIMIT $limit",
                ("$now", SqliteValues.ToText(now)), ("$limit", limit));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<OutboxEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                list.Add(new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            return list;
        }, cancellationToken);

    public Task MarkDeliveredAsync(long id, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) =>
            ExecuteAsync(connection, transaction, "DELETE FROM webhook_outbox WHERE id = $id", cancellationToken, ("$id", id)), cancellationToken);

    public Task MarkAttemptFailedAsync(long id, DateTimeOffset nextAttempt, string error, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) =>
            ExecuteAsync(connection, transaction,
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt = $next, last_error = $error WHERE id = $id",
                cancellationToken, ("$id", id), ("$next", SqliteValues.ToText(nextAttempt)), ("$error", error)), cancellationToken);

    private static AttestationResultRecord ReadResult(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetTimestamp(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetInt64(5), r.GetInt64(6), r.GetString(7), r.GetString(8));
}
