using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    /// <summary>
    /// Deletes at most <paramref name="batch"/> of the oldest results <paramref name="retention"/> no longer keeps, in
    /// one short transaction, and returns how many: callers repeat until it is less than the batch. An agent's newest
    /// result is never deleted (nor its <c>PerAgent</c> newest, a count of at least one).
    /// </summary>
    public Task<int> PruneResultsAsync(ResultRetention retention, DateTimeOffset now, int batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retention);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (retention.KeepsAll)
            return Task.FromResult(0);
        if (retention.PerAgent is < 1)
            throw new ArgumentOutOfRangeException(nameof(retention), "an agent keeps at least its newest result");
        var expired = new List<string>();
        var parameters = new List<(string, object?)> { ("@batch", batch) };
        if (retention.MaxAge is { } age)
        {
            expired.Add("(r.at < @cutoff AND r.id < (SELECT MAX(m.id) FROM results m WHERE m.agent_id = r.agent_id))");
            parameters.Add(("@cutoff", Database.Timestamp(now - age)));
        }
        if (retention.PerAgent is { } keep)
        {
            // Older than the agent's keep-th newest; NULL (kept) while it has fewer.
            expired.Add("r.id < (SELECT k.id FROM results k WHERE k.agent_id = r.agent_id ORDER BY k.id DESC LIMIT 1 OFFSET @skip)");
            parameters.Add(("@skip", keep - 1));
        }
        return Database.WriteAsync((connection, transaction) => connection.ExecuteAsync(transaction, $"""
            DELETE FROM results WHERE id IN (SELECT r.id FROM results r WHERE {string.Join(" OR ", expired)} ORDER BY r.id LIMIT @batch)
            """, cancellationToken, [.. parameters]), cancellationToken);
    }

    /// <summary>
    /// Removes, in one transaction of at most <paramref name="batch"/> of each, verifier instances whose heartbeat ran
    /// out <paramref name="grace"/> ago, and signing keys no live instance uses that were last usable
    /// <paramref name="grace"/> ago (at least a token's lifetime, so every token they signed has expired) and that no
    /// stored result or outbox entry names. A stored token whose key is unreadable keeps every key of its instance
    /// (every key, for one with no instance; every key, for such an outbox entry). A key last usable at an unknown time
    /// (published before this was recorded) counts from the first pass that sees it.
    /// </summary>
    public Task<RetiredRemoval> PruneRetiredAsync(DateTimeOffset now, TimeSpan grace, int batch, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var at = ("@now", Database.Timestamp(now));
        var cutoff = ("@cutoff", Database.Timestamp(now - grace));
        var limit = ("@batch", (object?)batch);
        return Database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(transaction, "UPDATE verifier_keys SET used_until = @now WHERE used_until IS NULL", cancellationToken, at)
                .ConfigureAwait(false);
            var instances = await connection.ExecuteAsync(transaction, """
                DELETE FROM verifier_instances WHERE instance_id IN
                    (SELECT instance_id FROM verifier_instances WHERE expires_at <= @cutoff ORDER BY instance_id LIMIT @batch)
                """, cancellationToken, cutoff, limit).ConfigureAwait(false);
            var keys = await connection.ExecuteAsync(transaction, """
                DELETE FROM verifier_keys WHERE key_id IN (SELECT k.key_id FROM verifier_keys k WHERE k.used_until <= @cutoff
                    AND NOT EXISTS (SELECT 1 FROM verifier_instances i WHERE i.key_id = k.key_id AND i.expires_at > @now)
                    AND NOT EXISTS (SELECT 1 FROM results r WHERE r.key_id = k.key_id)
                    AND NOT EXISTS (SELECT 1 FROM results r WHERE r.key_id IS NULL AND (r.instance_id IS NULL OR r.instance_id = k.instance_id))
                    AND NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.key_id = k.key_id OR o.key_id IS NULL)
                    ORDER BY k.key_id LIMIT @batch)
                """, cancellationToken, at, cutoff, limit).ConfigureAwait(false);
            return new RetiredRemoval(instances, keys);
        }, cancellationToken);
    }
}
