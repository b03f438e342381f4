using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Registrar.Storage;

/// <summary>
/// <see cref="IRegistrarStore"/> on a <see cref="StoreDatabase"/>: <c>registrar.db</c> in the data directory, or the
/// <c>registrar</c> schema of a PostgreSQL database. The same SQL on both.
/// </summary>
public sealed class RegistrarStore(StoreDatabase database) : IRegistrarStore, IAsyncDisposable
{
    private const string Columns = "agent_id, ek_public, ek_certificate, ak_public, tls_certificate, address, active, registered_at, activated_at, pending_credential";

    public static async Task<RegistrarStore> OpenAsync(StoreLocation location, string dataDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new(await location.OpenAsync(dataDirectory, RegistrarMigrations.Schema, cancellationToken).ConfigureAwait(false));
    }

    public StoreDatabase Database => database;

    public ValueTask DisposeAsync() => database.DisposeAsync();

    public Task<RegisterOutcome> RegisterAsync(RegisteredAgent agent, byte[] credential, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return database.WriteAsync(async (connection, transaction) =>
        {
            var existing = await ReadOneAsync(connection, transaction, agent.AgentId, cancellationToken).ConfigureAwait(false);
            if (existing is not null
                && !(existing.Agent.EkPublic.AsSpan().SequenceEqual(agent.EkPublic) && existing.Agent.AkPublic.AsSpan().SequenceEqual(agent.AkPublic)))
                return RegisterOutcome.KeysDiffer;
            await connection.ExecuteAsync(transaction, $"""
                INSERT INTO agents ({Columns}) VALUES (@id, @ek, @ekc, @ak, @tls, @addr, FALSE, @at, NULL, @cred)
                ON CONFLICT (agent_id) DO UPDATE SET ek_public = excluded.ek_public, ek_certificate = excluded.ek_certificate,
                    ak_public = excluded.ak_public, tls_certificate = excluded.tls_certificate, address = excluded.address,
                    active = excluded.active, registered_at = excluded.registered_at, activated_at = excluded.activated_at,
                    pending_credential = excluded.pending_credential
                """, cancellationToken,
                ("@id", agent.AgentId), ("@ek", agent.EkPublic), ("@ekc", agent.EkCertificate), ("@ak", agent.AkPublic),
                ("@tls", agent.TlsCertificate), ("@addr", agent.Address), ("@at", database.Timestamp(agent.RegisteredAt)),
                ("@cred", credential)).ConfigureAwait(false);
            return existing is null ? RegisterOutcome.Created : RegisterOutcome.Renewed;
        }, cancellationToken);
    }

    public Task<bool> ActivateAsync(string agentId, byte[] credential, DateTimeOffset activatedAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(transaction,
                "UPDATE agents SET active = TRUE, activated_at = @at, pending_credential = NULL WHERE agent_id = @id AND pending_credential = @cred",
                cancellationToken, ("@id", agentId), ("@cred", credential), ("@at", database.Timestamp(activatedAt))).ConfigureAwait(false) == 1,
            cancellationToken);

    public Task<RegistrarRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.ReadAsync(connection => ReadOneAsync(connection, null, agentId, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<RegisteredAgent>>(async connection =>
            await connection.QueryAsync(null, $"SELECT {Columns} FROM agents ORDER BY agent_id", r => ReadRecord(r).Agent, cancellationToken).ConfigureAwait(false),
            cancellationToken);

    public Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(transaction, "DELETE FROM agents WHERE agent_id = @id", cancellationToken, ("@id", agentId)).ConfigureAwait(false) == 1,
            cancellationToken);

    private static Task<RegistrarRecord?> ReadOneAsync(DbConnection connection, DbTransaction? transaction, string agentId, CancellationToken cancellationToken) =>
        connection.QuerySingleAsync(transaction, $"SELECT {Columns} FROM agents WHERE agent_id = @id", ReadRecord, cancellationToken, ("@id", agentId));

    private static RegistrarRecord ReadRecord(DbDataReader reader) => new(
        new RegisteredAgent(
            AgentId: reader.GetString(0),
            EkPublic: reader.GetBlob(1),
            EkCertificate: reader.GetNullableBlob(2),
            AkPublic: reader.GetBlob(3),
            TlsCertificate: reader.GetString(4),
            Address: reader.GetNullableString(5),
            Active: reader.GetBoolean(6),
            RegisteredAt: reader.GetTimestamp(7),
            ActivatedAt: reader.GetNullableTimestamp(8)),
        reader.GetNullableBlob(9));
}
