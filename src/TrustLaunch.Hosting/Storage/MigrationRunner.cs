using Microsoft.Data.Sqlite;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// Applies numbered migrations to a SQLite database and records each in <c>schema_version</c> in the same
/// transaction, so a crash leaves the schema at a whole version. Refuses a database newer than the code.
/// </summary>
public static class MigrationRunner
{
    private const string CreateVersionTable =
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

    /// <returns>The schema version after applying.</returns>
    public static async Task<int> ApplyAsync(SqliteConnection connection, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(migrations);
        Validate(migrations);
        await ExecuteAsync(connection, null, CreateVersionTable, cancellationToken).ConfigureAwait(false);
        var current = await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
            throw new InvalidOperationException($"the database schema is at version {current}, newer than this trustlaunch knows ({latest}): upgrade trustlaunch");
        foreach (var migration in migrations.Where(m => m.Version > current))
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            // Re-read under the write lock: another process may have migrated meanwhile.
            if (await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false) >= migration.Version)
                continue;
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES ($v, $n, $t)";
            record.Parameters.AddWithValue("$v", migration.Version);
            record.Parameters.AddWithValue("$n", migration.Name);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O"));
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<int> CurrentVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Validate(IReadOnlyList<Migration> migrations)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
                throw new ArgumentException($"migration '{migrations[i].Name}' has version {migrations[i].Version}, expected {i + 1}: versions are 1, 2, 3, … in order", nameof(migrations));
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
