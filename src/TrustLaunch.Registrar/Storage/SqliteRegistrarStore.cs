using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Registrar.Storage;

/// <summary><see cref="IRegistrarStore"/> on a <see cref="SqliteDatabase"/> (<c>registrar.db</c> in the data dir).</summary>
public sealed class SqliteRegistrarStore(SqliteDatabase database) : IRegistrarStore
{
    public const string FileName = "registrar.db";
    private const string Columns = "agent_id, ek_public, ek_certificate, ak_public, tls_certificate, address, active, registered_at, activated_at, pending_credential";

    public static async Task<SqliteRegistrarStore> OpenAsync(string dataDirectory, CancellationToken cancellationToken = default) =>
        new(await SqliteDatabase.OpenAsync(Path.Combine(dataDirectory, FileName), RegistrarMigrations.All, cancellationToken).ConfigureAwait(false));

    public SqliteDatabase Database => database;

    public Task<RegisterOutcome> RegisterAsync(RegisteredAgent agent, byte[] credential, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return database.WriteAsync(async (connection, transaction) =>
        {
            var existing = await ReadOneAsync(connection, transaction, agent.AgentId, cancellationToken).ConfigureAwait(false);
            if (existing is not null
                && !(existing.Agent.EkPublic.AsSpan().SequenceEqual(agent.EkPublic) && existing.Agent.AkPublic.AsSpan().SequenceEqual(agent.AkPublic)))
                return RegisterOutcome.KeysDiffer;
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"INSERT OR REPLACE INTO agents ({Columns}) VALUES ($id, $ek, $ekc, $ak, $tls, $addr, 0, $at, NULL, $cred)";
            command.Parameters.AddWithValue("$id", agent.AgentId);
            command.Parameters.AddWithValue("$ek", agent.EkPublic);
            command.Parameters.AddWithValue("$ekc", SqliteValues.ToDb(agent.EkCertificate));
            command.Parameters.AddWithValue("$ak", agent.AkPublic);
            command.Parameters.AddWithValue("$tls", agent.TlsCertificate);
            command.Parameters.AddWithValue("$addr", SqliteValues.ToDb(agent.Address));
            command.Parameters.AddWithValue("$at", SqliteValues.ToText(agent.RegisteredAt));
            command.Parameters.AddWithValue("$cred", credential);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return existing is null ? RegisterOutcome.Created : RegisterOutcome.Renewed;
        }, cancellationToken);
    }

    public Task<bool> ActivateAsync(string agentId, byte[] credential, DateTimeOffset activatedAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE agents SET active = 1, activated_at = $at, pending_credential = NULL WHERE agent_id = $id AND pending_credential = $cred";
            command.Parameters.AddWithValue("$id", agentId);
            command.Parameters.AddWithValue("$cred", credential);
            command.Parameters.AddWithValue("$at", SqliteValues.ToText(activatedAt));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<RegistrarRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.ReadAsync(connection => ReadOneAsync(connection, null, agentId, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<RegisteredAgent>>(async connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM agents ORDER BY agent_id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var agents = new List<RegisteredAgent>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                agents.Add(ReadRecord(reader).Agent);
            return agents;
        }, cancellationToken);

    public Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM agents WHERE agent_id = $id";
            command.Parameters.AddWithValue("$id", agentId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    private static async Task<RegistrarRecord?> ReadOneAsync(SqliteConnection connection, SqliteTransaction? transaction, string agentId, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM agents WHERE agent_id = $id";
        command.Parameters.AddWithValue("$id", agentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRecord(reader) : null;
    }

    private static RegistrarRecord ReadRecord(SqliteDataReader reader) => new(
        new RegisteredAgent(
            AgentId: reader.GetString(0),
            EkPublic: reader.GetBlob(1),
            EkCertificate: reader.GetNullableBlob(2),
            AkPublic: reader.GetBlob(3),
            TlsCertificate: reader.GetString(4),
            Address: reader.GetNullableString(5),
            Active: reader.GetInt64(6) != 0,
            RegisteredAt: reader.GetTimestamp(7),
            ActivatedAt: reader.GetNullableTimestamp(8)),
        reader.GetNullableBlob(9));
}
