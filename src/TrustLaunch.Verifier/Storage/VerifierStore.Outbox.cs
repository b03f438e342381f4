using System.Data.Common;
using System.Globalization;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Jose;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    public Task<IReadOnlyList<OutboxEntry>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<OutboxEntry>>(async connection => await connection.QueryAsync(null,
                "SELECT id, url, body, attempts FROM webhook_outbox WHERE dead_at IS NULL AND next_attempt <= @now ORDER BY id LIMIT @limit",
                r => new OutboxEntry(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)), cancellationToken,
                ("@now", Database.Timestamp(now)), ("@limit", limit)).ConfigureAwait(false), cancellationToken);

    public Task MarkDeliveredAsync(long id, CancellationToken cancellationToken = default) =>
        Database.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync(transaction, "DELETE FROM webhook_outbox WHERE id = @id", cancellationToken, ("@id", id)), cancellationToken);

    public Task<bool> MarkAttemptFailedAsync(long id, string error, DateTimeOffset now, DateTimeOffset nextAttempt, int maxAttempts,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        return Database.WriteAsync(async (connection, transaction) => await connection.ScalarAsync(transaction, """
                UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt = @next, last_error = @error,
                    dead_at = CASE WHEN attempts + 1 >= @max THEN @now ELSE NULL END
                WHERE id = @id AND dead_at IS NULL RETURNING dead_at
                """, cancellationToken, ("@id", id), ("@next", Database.Timestamp(nextAttempt)), ("@error", error), ("@max", maxAttempts),
                ("@now", Database.Timestamp(now))).ConfigureAwait(false) is not null, cancellationToken);
    }

    public Task<IReadOnlyList<OutboxEntryStatus>> ListOutboxAsync(int limit, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<OutboxEntryStatus>>(async connection => await connection.QueryAsync(null, """
                SELECT id, agent_id, url, attempts, last_error, created_at, next_attempt, dead_at FROM webhook_outbox ORDER BY id LIMIT @limit
                """, r => new OutboxEntryStatus(r.GetInt64(0), r.IsDBNull(7) ? OutboxStates.Pending : OutboxStates.Dead, r.GetNullableString(1),
                r.GetString(2), r.GetInt32(3), r.GetNullableString(4), r.GetNullableTimestamp(5), r.GetTimestamp(6), r.GetNullableTimestamp(7)),
                cancellationToken, ("@limit", limit)).ConfigureAwait(false), cancellationToken);

    public Task<OutboxCounts> CountOutboxAsync(CancellationToken cancellationToken = default) =>
        Database.ReadAsync(async connection => (await connection.QuerySingleAsync(null,
                "SELECT COUNT(*) - COUNT(dead_at), COUNT(dead_at) FROM webhook_outbox",
                r => new OutboxCounts(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)),
                cancellationToken).ConfigureAwait(false))!, cancellationToken);

    /// <summary>Queues <paramref name="notification"/> (a compact JWS, when there is one) for every URL, inside the caller's transaction.</summary>
    private async Task QueueNotificationAsync(DbConnection connection, DbTransaction transaction, string agentId, string? notification,
        IReadOnlyList<string>? webhookUrls, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (notification is null || webhookUrls is null)
            return;
        var keyId = SigningKeyOf(notification);
        foreach (var url in webhookUrls)
        {
            await connection.ExecuteAsync(transaction, """
                INSERT INTO webhook_outbox (url, body, attempts, next_attempt, agent_id, created_at, key_id) VALUES (@url, @body, 0, @at, @agent, @at, @key)
                """, cancellationToken, ("@url", url), ("@body", notification), ("@at", Database.Timestamp(at)), ("@agent", agentId),
                ("@key", keyId)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The <c>kid</c> a stored token or notification names, so its key is kept while the store holds it; null when it
    /// names none readably, which keeps every key it could have been signed with (see <see cref="PruneRetiredAsync"/>).
    /// </summary>
    private static string? SigningKeyOf(string compactJws)
    {
        try
        {
            return Jws.Parse(compactJws).KeyId;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
