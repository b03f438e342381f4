using System.Data.Common;
using System.Globalization;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    public Task<IReadOnlyList<HeldAgent>> MaintainLeasesAsync(VerifierInstance instance, IReadOnlySet<string> inFlight, DateTimeOffset now, TimeSpan lease,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(inFlight);
        var me = ("@me", (object?)instance.InstanceId);
        var at = ("@now", Database.Timestamp(now));
        var until = ("@until", Database.Timestamp(now + lease));
        return Database.WriteAsync<IReadOnlyList<HeldAgent>>(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(transaction, """
                INSERT INTO verifier_instances (instance_id, verifier_id, key_id, started_at, heartbeat_at, expires_at)
                VALUES (@me, @verifier, @key, @started, @now, @until)
                ON CONFLICT (instance_id) DO UPDATE SET verifier_id = excluded.verifier_id, key_id = excluded.key_id,
                    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
                """, cancellationToken, me, ("@verifier", instance.VerifierId), ("@key", instance.KeyId),
                ("@started", Database.Timestamp(instance.StartedAt)), at, until).ConfigureAwait(false);
            // The key signs until this heartbeat runs out: its grace before removal counts from then.
            await connection.ExecuteAsync(transaction, """
                INSERT INTO verifier_keys (key_id, public_key, instance_id, published_at, used_until) VALUES (@key, @pem, @me, @now, @until)
                ON CONFLICT (key_id) DO UPDATE SET used_until = excluded.used_until
                """, cancellationToken, ("@key", instance.KeyId), ("@pem", instance.PublicKeyPem), me, at, until).ConfigureAwait(false);
            await connection.ExecuteAsync(transaction, "UPDATE agent_leases SET expires_at = @until WHERE instance_id = @me", cancellationToken,
                me, until).ConfigureAwait(false);
            // Own leases were just renewed, so this only frees those of instances that stopped renewing.
            await connection.ExecuteAsync(transaction, "DELETE FROM agent_leases WHERE expires_at <= @now", cancellationToken, at).ConfigureAwait(false);

            var live = await connection.QueryAsync(transaction, "SELECT instance_id FROM verifier_instances WHERE expires_at > @now ORDER BY instance_id",
                r => r.GetString(0), cancellationToken, at).ConfigureAwait(false);
            var agents = Convert.ToInt32(await connection.ScalarAsync(transaction, "SELECT COUNT(*) FROM agents", cancellationToken).ConfigureAwait(false),
                CultureInfo.InvariantCulture);
            var rank = live.IndexOf(instance.InstanceId);
            var share = agents / live.Count + (rank < agents % live.Count ? 1 : 0);

            var held = await connection.QueryAsync(transaction, "SELECT agent_id FROM agent_leases WHERE instance_id = @me ORDER BY agent_id",
                r => r.GetString(0), cancellationToken, me).ConfigureAwait(false);
            if (held.Count > share)
            {
                foreach (var agentId in held.Where(a => !inFlight.Contains(a)).Reverse().Take(held.Count - share))
                {
                    await connection.ExecuteAsync(transaction, "DELETE FROM agent_leases WHERE agent_id = @id AND instance_id = @me", cancellationToken,
                        ("@id", agentId), me).ConfigureAwait(false);
                }
            }
            else if (held.Count < share)
            {
                var free = await connection.QueryAsync(transaction, """
                    SELECT agent_id FROM agents WHERE agent_id NOT IN (SELECT agent_id FROM agent_leases) ORDER BY agent_id LIMIT @n
                    """, r => r.GetString(0), cancellationToken, ("@n", share - held.Count)).ConfigureAwait(false);
                foreach (var agentId in free)
                {
                    await connection.ExecuteAsync(transaction, "INSERT INTO agent_leases (agent_id, instance_id, expires_at) VALUES (@id, @me, @until)",
                        cancellationToken, ("@id", agentId), me, until).ConfigureAwait(false);
                }
            }
            return await connection.QueryAsync(transaction, """
                SELECT a.agent_id, a.last_attestation, a.consecutive_faults, a.generation FROM agents a
                JOIN agent_leases l ON l.agent_id = a.agent_id WHERE l.instance_id = @me ORDER BY a.agent_id
                """, r => new HeldAgent(r.GetString(0), r.GetNullableTimestamp(1), r.GetInt32(2), r.GetInt64(3)), cancellationToken, me).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task LeaveAsync(string instanceId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(transaction, "DELETE FROM agent_leases WHERE instance_id = @me", cancellationToken, ("@me", instanceId)).ConfigureAwait(false);
            return await connection.ExecuteAsync(transaction, "UPDATE verifier_instances SET expires_at = @now WHERE instance_id = @me", cancellationToken,
                ("@me", instanceId), ("@now", Database.Timestamp(now))).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<VerifierInstanceStatus>> ListInstancesAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<VerifierInstanceStatus>>(async connection => await connection.QueryAsync(null, """
                SELECT i.instance_id, i.verifier_id, i.key_id, i.started_at, i.heartbeat_at, i.expires_at,
                    (SELECT COUNT(*) FROM agent_leases l WHERE l.instance_id = i.instance_id AND l.expires_at > @now)
                FROM verifier_instances i ORDER BY i.instance_id
                """, r => ReadInstance(r, now), cancellationToken, ("@now", Database.Timestamp(now))).ConfigureAwait(false), cancellationToken);

    public Task<string?> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default) =>
        Database.ReadAsync(async connection => (string?)await connection.ScalarAsync(null, "SELECT public_key FROM verifier_keys WHERE key_id = @key",
            cancellationToken, ("@key", keyId)).ConfigureAwait(false), cancellationToken);

    private static VerifierInstanceStatus ReadInstance(DbDataReader r, DateTimeOffset now)
    {
        var expires = r.GetTimestamp(5);
        return new VerifierInstanceStatus(r.GetString(0), r.GetString(1), r.GetString(2), r.GetTimestamp(3), r.GetTimestamp(4), expires,
            expires > now, Convert.ToInt32(r.GetValue(6), CultureInfo.InvariantCulture));
    }
}
