using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Registrar.Storage;

/// <summary>
/// <see cref="IRegistrarStore"/> on a <see cref="StoreDatabase"/>: <c>registrar.db</c> in the data directory, or the
/// <c>registrar</c> schema of a PostgreSQL database. The same SQL on both. Proven registrations are in <c>agents</c>,
/// registrations waiting for their proof in <c>pending_registrations</c>.
/// </summary>
public sealed class RegistrarStore(StoreDatabase database) : IRegistrarStore, IAsyncDisposable
{
    private const string Columns = "agent_id, ek_public, ek_certificate, ak_public, tls_certificate, address, registered_at";
    private const string ActiveColumns = Columns + ", activated_at";
    private const string PendingColumns = Columns + ", proof_digest";

    public static async Task<RegistrarStore> OpenAsync(StoreLocation location, string dataDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new(await location.OpenAsync(dataDirectory, RegistrarMigrations.Schema, cancellationToken).ConfigureAwait(false));
    }

    public StoreDatabase Database => database;

    public ValueTask DisposeAsync() => database.DisposeAsync();

    public Task<RegisterOutcome> RegisterAsync(RegisteredAgent candidate, byte[] proofDigest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return database.WriteAsync(async (connection, transaction) =>
        {
            var active = await ReadActiveAsync(connection, transaction, candidate.AgentId, cancellationToken).ConfigureAwait(false);
            if (active is not null && !active.EkPublic.AsSpan().SequenceEqual(candidate.EkPublic))
                return RegisterOutcome.KeysDiffer;
            await connection.ExecuteAsync(transaction, $"""
                INSERT INTO pending_registrations ({PendingColumns}) VALUES (@id, @ek, @ekc, @ak, @tls, @addr, @at, @proof)
                ON CONFLICT (agent_id) DO UPDATE SET ek_public = excluded.ek_public, ek_certificate = excluded.ek_certificate,
                    ak_public = excluded.ak_public, tls_certificate = excluded.tls_certificate, address = excluded.address,
                    registered_at = excluded.registered_at, proof_digest = excluded.proof_digest
                """, cancellationToken,
                ("@id", candidate.AgentId), ("@ek", candidate.EkPublic), ("@ekc", candidate.EkCertificate), ("@ak", candidate.AkPublic),
                ("@tls", candidate.TlsCertificate), ("@addr", candidate.Address), ("@at", database.Timestamp(candidate.RegisteredAt)),
                ("@proof", proofDigest)).ConfigureAwait(false);
            return active is null ? RegisterOutcome.Created : RegisterOutcome.Renewed;
        }, cancellationToken);
    }

    public Task<bool> ActivateAsync(string agentId, byte[] proofDigest, DateTimeOffset activatedAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(transaction, $"""
                INSERT INTO agents ({ActiveColumns})
                SELECT {Columns}, @at FROM pending_registrations WHERE agent_id = @id AND proof_digest = @proof
                ON CONFLICT (agent_id) DO UPDATE SET ek_public = excluded.ek_public, ek_certificate = excluded.ek_certificate,
                    ak_public = excluded.ak_public, tls_certificate = excluded.tls_certificate, address = excluded.address,
                    registered_at = excluded.registered_at, activated_at = excluded.activated_at
                """, cancellationToken, ("@id", agentId), ("@proof", proofDigest), ("@at", database.Timestamp(activatedAt))).ConfigureAwait(false) != 1)
                return false;
            await connection.ExecuteAsync(transaction, "DELETE FROM pending_registrations WHERE agent_id = @id", cancellationToken, ("@id", agentId))
                .ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<RegistrarRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.ReadAsync(async connection =>
        {
            var active = await ReadActiveAsync(connection, null, agentId, cancellationToken).ConfigureAwait(false);
            var pending = await connection.QuerySingleAsync(null, $"SELECT {PendingColumns} FROM pending_registrations WHERE agent_id = @id",
                ReadPending, cancellationToken, ("@id", agentId)).ConfigureAwait(false);
            return active is null && pending is null ? null : new RegistrarRecord(active, pending);
        }, cancellationToken);

    public Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<RegisteredAgent>>(async connection =>
            await connection.QueryAsync(null, $"""
                SELECT {ActiveColumns}, TRUE FROM agents
                UNION ALL
                SELECT {Columns}, NULL, FALSE FROM pending_registrations p WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.agent_id = p.agent_id)
                ORDER BY agent_id
                """, r => ReadAgent(r, active: r.GetBoolean(8)), cancellationToken).ConfigureAwait(false),
            cancellationToken);

    public Task<IReadOnlyList<RegisteredAgent>> FindActiveByAkAsync(byte[] akPublic, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<RegisteredAgent>>(async connection => await connection.QueryAsync(null,
            $"SELECT {ActiveColumns} FROM agents WHERE ak_public = @ak ORDER BY agent_id LIMIT 2",
            r => ReadAgent(r, active: true), cancellationToken, ("@ak", akPublic)).ConfigureAwait(false), cancellationToken);

    public Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(transaction, "DELETE FROM agents WHERE agent_id = @id", cancellationToken, ("@id", agentId)).ConfigureAwait(false)
            + await connection.ExecuteAsync(transaction, "DELETE FROM pending_registrations WHERE agent_id = @id", cancellationToken, ("@id", agentId))
                .ConfigureAwait(false) > 0,
            cancellationToken);

    private static Task<RegisteredAgent?> ReadActiveAsync(DbConnection connection, DbTransaction? transaction, string agentId, CancellationToken cancellationToken) =>
        connection.QuerySingleAsync(transaction, $"SELECT {ActiveColumns} FROM agents WHERE agent_id = @id",
            r => ReadAgent(r, active: true), cancellationToken, ("@id", agentId));

    private static PendingRegistration ReadPending(DbDataReader reader) => new(ReadAgent(reader, active: false), reader.GetBlob(7));

    /// <summary>The seven common columns, then activated_at (column 7) for an active registration.</summary>
    private static RegisteredAgent ReadAgent(DbDataReader reader, bool active) => new(
        AgentId: reader.GetString(0),
        EkPublic: reader.GetBlob(1),
        EkCertificate: reader.GetNullableBlob(2),
        AkPublic: reader.GetBlob(3),
        TlsCertificate: reader.GetString(4),
        Address: reader.GetNullableString(5),
        Active: active,
        RegisteredAt: reader.GetTimestamp(6),
        ActivatedAt: active ? reader.GetNullableTimestamp(7) : null);
}
