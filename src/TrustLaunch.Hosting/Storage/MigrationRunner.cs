using System.Data.Common;
using System.Globalization;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// Applies numbered migrations and records each in <c>schema_version</c> in the same transaction, so a crash leaves
/// the schema at a whole version. Each step runs in a transaction from <c>beginExclusive</c>, which must keep other
/// migrating processes out until it commits (SQLite: <c>BEGIN IMMEDIATE</c>; PostgreSQL: an advisory lock), and
/// re-reads the version under it, so two instances starting at once apply each migration once. Refuses a database
/// newer than the code.
/// </summary>
public static class MigrationRunner
{
    // The same SQL on SQLite and PostgreSQL: the bookkeeping table needs no dialect.
    private const string CreateVersionTable =
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

    /// <returns>The schema version after applying.</returns>
    public static async Task<int> ApplyAsync(DbConnection connection, IReadOnlyList<Migration> migrations,
        Func<DbConnection, CancellationToken, Task<DbTransaction>> beginExclusive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(migrations);
        ArgumentNullException.ThrowIfNull(beginExclusive);
        Validate(migrations);
        await using (var create = await beginExclusive(connection, cancellationToken).ConfigureAwait(false))
        {
            await connection.ExecuteAsync(create, CreateVersionTable, cancellationToken).ConfigureAwait(false);
            await create.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        var current = await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
            throw new InvalidOperationException($"the database schema is at version {current}, newer than this trustlaunch knows ({latest}): upgrade trustlaunch");
        foreach (var migration in migrations.Where(m => m.Version > current))
        {
            await using var transaction = await beginExclusive(connection, cancellationToken).ConfigureAwait(false);
            // Re-read under the lock: another process may have migrated meanwhile.
            if (await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false) >= migration.Version)
                continue;
            await connection.ExecuteAsync(transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(transaction, "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @t)", cancellationToken,
                ("@v", migration.Version), ("@n", migration.Name), ("@t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture))).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<int> CurrentVersionAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var version = await connection.ScalarAsync(transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false);
        return Convert.ToInt32(version, CultureInfo.InvariantCulture);
    }

    private static void Validate(IReadOnlyList<Migration> migrations)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
                throw new ArgumentException($"migration '{migrations[i].Name}' has version {migrations[i].Version}, expected {i + 1}: versions are 1, 2, 3, … in order", nameof(migrations));
        }
    }
}
