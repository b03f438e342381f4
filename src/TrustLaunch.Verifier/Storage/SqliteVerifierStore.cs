using System.Text.Json;
using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

/// <summary><see cref="IVerifierStore"/> on SQLite (<c>verifier.db</c> in the data directory, WAL, synchronous=FULL).</summary>
public sealed partial class SqliteVerifierStore(SqliteDatabase database) : IVerifierStore
{
    public const string FileName = "verifier.db";

    public SqliteDatabase Database { get; } = database;

    public static async Task<SqliteVerifierStore> OpenAsync(string dataDirectory, CancellationToken cancellationToken = default) =>
        new(await SqliteDatabase.OpenAsync(Path.Combine(dataDirectory, FileName), VerifierMigrations.All, cancellationToken).ConfigureAwait(false));

    public Task<StoredPolicy> AddPolicyAsync(PolicyDocument policy, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            var version = Convert.ToInt32(await ScalarAsync(connection, transaction,
                "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE name = $name", cancellationToken, ("$name", policy.Name)).ConfigureAwait(false),
                System.Globalization.CultureInfo.InvariantCulture);
            await ExecuteAsync(connection, transaction,
                "INSERT INTO policies (name, version, document, created_at) VALUES ($name, $version, $document, $at)", cancellationToken,
                ("$name", policy.Name), ("$version", version),
                ("$document", JsonSerializer.Serialize(policy, ContractsJsonContext.Default.PolicyDocument)),
                ("$at", SqliteValues.ToText(now))).ConfigureAwait(false);
            return new StoredPolicy(policy, version, now);
        }, cancellationToken);

    public Task<StoredPolicy?> GetPolicyAsync(string name, int? version = null, CancellationToken cancellationToken = default) =>
        Database.ReadAsync(async connection =>
        {
            using var command = Command(connection, null, version is null
                ? "SELECT document, version, created_at FROM policies WHERE name = $name ORDER BY version DESC LIMIT 1"
                : "SELECT document, version, created_at FROM policies WHERE name = $name AND version = $version",
                ("$name", name), ("$version", version));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadPolicy(reader) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<StoredPolicy>>(async connection =>
        {
            using var command = Command(connection, null, """
                SELECT p.document, p.version, p.created_at FROM policies p
                WHERE p.version = (SELECT MAX(version) FROM policies q WHERE q.name = p.name) ORDER BY p.name
                """);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<StoredPolicy>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                list.Add(ReadPolicy(reader));
            return list;
        }, cancellationToken);

    public Task<PolicyRemoval> RemovePolicyAsync(string name, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            var users = Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM agents WHERE policy_name = $name",
                cancellationToken, ("$name", name)).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (users > 0)
                return PolicyRemoval.InUse;
            var removed = await ExecuteAsync(connection, transaction, "DELETE FROM policies WHERE name = $name", cancellationToken, ("$name", name)).ConfigureAwait(false);
            return removed > 0 ? PolicyRemoval.Removed : PolicyRemoval.NotFound;
        }, cancellationToken);

    private static StoredPolicy ReadPolicy(SqliteDataReader reader) => new(
        JsonSerializer.Deserialize(reader.GetString(0), ContractsJsonContext.Default.PolicyDocument)
            ?? throw new InvalidDataException("stored policy document is null"),
        reader.GetInt32(1),
        reader.GetTimestamp(2));

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
