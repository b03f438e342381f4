using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// A service's SQLite database file (0600, with its -wal and -shm, in a 0700 directory): WAL journal, <c>synchronous=FULL</c> (a committed transaction survives kill -9
/// and power loss), a busy timeout for concurrent writers, foreign keys on; migrated on open. Writes run in one
/// <c>BEGIN IMMEDIATE</c> transaction, so writers take turns: this process's on one long-lived connection whose
/// commands stay prepared (<see cref="PreparedCommands"/>), other processes' through the busy timeout.
/// </summary>
public sealed class SqliteDatabase : StoreDatabase
{
    public const int BusyTimeoutMilliseconds = 5000;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeTurn = new(1, 1);
    private SqliteConnection? _writer;

    private SqliteDatabase(string path, int schemaVersion) : base(schemaVersion)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public string Path { get; }
    public override string Location => Path;

    /// <summary>Opens (creating if needed) <paramref name="path"/> and applies <paramref name="migrations"/>.</summary>
    public static async Task<SqliteDatabase> OpenAsync(string path, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        SQLitePCL.Batteries_V2.Init();
        PrivateFiles.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        // SQLite gives the -wal and -shm files it creates the database file's mode: 0600 from the start.
        PrivateFiles.CreateFile(path);
        PrivateFiles.Narrow(path + "-wal");
        PrivateFiles.Narrow(path + "-shm");
        var probe = new SqliteDatabase(path, 0);
        await using var connection = await probe.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var mode = (string?)await connection.ScalarAsync(null, "PRAGMA journal_mode=WAL", cancellationToken).ConfigureAwait(false);
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{path}: SQLite refused WAL journal mode (got '{mode}')");
        var version = await MigrationRunner.ApplyAsync(connection, migrations, BeginImmediateAsync, cancellationToken).ConfigureAwait(false);
        return new SqliteDatabase(path, version);
    }

    /// <summary>A new open connection with the per-connection settings applied; the caller disposes it.</summary>
    public async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(null, $"PRAGMA synchronous=FULL; PRAGMA busy_timeout={BusyTimeoutMilliseconds}; PRAGMA foreign_keys=ON",
                cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    public override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        await _writeTurn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writer is null)
            {
                _writer = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                PreparedCommands.Keep(_writer);
            }
            try
            {
                await using var transaction = await BeginImmediateAsync(_writer, cancellationToken).ConfigureAwait(false);
                var result = await write(_writer, transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch
            {
                // Whatever went wrong, the next write starts on a fresh connection, not on one in an unknown state.
                await CloseWriterAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _writeTurn.Release();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _writeTurn.WaitAsync().ConfigureAwait(false);
        try
        {
            await CloseWriterAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeTurn.Release();
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task CloseWriterAsync()
    {
        if (_writer is null)
            return;
        await PreparedCommands.ForgetAsync(_writer).ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        _writer = null;
    }

    /// <summary>ISO 8601 UTC text, fixed width, so text order is time order.</summary>
    public override object Timestamp(DateTimeOffset value) => value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static Task<DbTransaction> BeginImmediateAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
}
