using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// A service's SQLite database file: WAL journal, <c>synchronous=FULL</c> (a committed transaction survives kill -9
/// and power loss), a busy timeout for concurrent writers, foreign keys on; migrated on open. Writes go through
/// <see cref="WriteAsync{T}"/> (one <c>BEGIN IMMEDIATE</c> transaction, committed or rolled back whole).
/// Also the <c>store</c> readiness check.
/// </summary>
public sealed class SqliteDatabase : IReadinessCheck
{
    public const int BusyTimeoutMilliseconds = 5000;
    private readonly string _connectionString;

    private SqliteDatabase(string path, int schemaVersion)
    {
        Path = path;
        SchemaVersion = schemaVersion;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public string Path { get; }
    public int SchemaVersion { get; }
    public string Name => "store";

    /// <summary>Opens (creating if needed) <paramref name="path"/> and applies <paramref name="migrations"/>.</summary>
    public static async Task<SqliteDatabase> OpenAsync(string path, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        SQLitePCL.Batteries_V2.Init();
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(directory) && !OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(directory);
        var probe = new SqliteDatabase(path, 0);
        await using var connection = await probe.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL";
            var mode = (string?)await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"{path}: SQLite refused WAL journal mode (got '{mode}')");
        }
        var version = await MigrationRunner.ApplyAsync(connection, migrations, cancellationToken).ConfigureAwait(false);
        return new SqliteDatabase(path, version);
    }

    /// <summary>A new open connection with the per-connection settings applied; the caller disposes it.</summary>
    public async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = $"PRAGMA synchronous=FULL; PRAGMA busy_timeout={BusyTimeoutMilliseconds}; PRAGMA foreign_keys=ON";
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="read"/> on its own connection (WAL readers see the last committed state).</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="write"/> in one <c>BEGIN IMMEDIATE</c> transaction and commits it; any exception rolls
    /// everything back. Commands must set <c>Transaction</c> to the one given.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var result = await write(connection, transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(async connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return (string?)null;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            return $"{Path}: {e.Message}";
        }
    }
}
