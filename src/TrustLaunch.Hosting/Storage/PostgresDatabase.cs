using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// A service's schema in a PostgreSQL database (registrar and verifier share a database, each in its own schema, on
/// its <c>search_path</c>). Npgsql's slim data source keeps the CLI Native AOT clean. Migrations run under a
/// transaction-scoped advisory lock per schema, so instances starting at once migrate once. Writes are SERIALIZABLE
/// and retried when PostgreSQL aborts them for a conflict with a concurrent writer (SQLSTATE 40001/40P01), which
/// gives the stores the same one-writer-at-a-time semantics as SQLite; writes whose checks all hold by their own row
/// locks (<see cref="WriteLockingRowsAsync{T}"/>) run READ COMMITTED. A connection the server dropped (restart) is
/// replaced once, for reads, and for writes that did not reach commit.
/// </summary>
public sealed partial class PostgresDatabase : StoreDatabase
{
    public const int MaxWriteAttempts = 20;
    private readonly NpgsqlDataSource _dataSource;

    private PostgresDatabase(NpgsqlDataSource dataSource, string location, string schema, int schemaVersion) : base(schemaVersion)
    {
        _dataSource = dataSource;
        Location = location;
        Schema = schema;
    }

    public override string Location { get; }
    public string Schema { get; }

    /// <summary>Overlapping commits hide the round trips; more mostly adds serialization conflicts.</summary>
    public override int ConcurrentWriters => 4;

    /// <summary>
    /// Connects with <paramref name="connectionString"/> (an Npgsql connection string, see
    /// <see cref="PostgresConnectionString"/>), creates <paramref name="schema"/> when missing and applies
    /// <paramref name="migrations"/> in it.
    /// </summary>
    public static async Task<PostgresDatabase> OpenAsync(string connectionString, string schema, IReadOnlyList<Migration> migrations,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        if (!SchemaName().IsMatch(schema))
            throw new ArgumentException($"'{schema}' is not a plain schema name (lower-case letters, digits, _)", nameof(schema));
        var settings = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema };
        settings.ApplicationName ??= $"trustlaunch-{schema}";
        // The stores run the same few statements all day: prepared once per connection, PostgreSQL skips parse and plan.
        if (settings.MaxAutoPrepare == 0)
            settings.MaxAutoPrepare = 64;
        // No session state is ever changed (search_path is in the connection string, advisory locks are per
        // transaction), so a pooled connection needs no reset before its next use.
        settings.NoResetOnClose = true;
        var location = PostgresConnectionString.Describe(settings);
        var builder = new NpgsqlSlimDataSourceBuilder(settings.ConnectionString);
        builder.EnableTransportSecurity();
        var dataSource = builder.Build();
        try
        {
            await using var connection = await OpenAsync(dataSource, location, cancellationToken).ConfigureAwait(false);
            await using (var create = await BeginMigrationAsync(connection, schema, cancellationToken).ConfigureAwait(false))
            {
                // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
                if (await connection.ScalarAsync(create, "SELECT 1 FROM pg_namespace WHERE nspname = @schema", cancellationToken, ("@schema", schema)).ConfigureAwait(false) is null)
                    await connection.ExecuteAsync(create, $"CREATE SCHEMA {schema}", cancellationToken).ConfigureAwait(false);
                await create.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            var version = await MigrationRunner.ApplyAsync(connection, migrations, (c, ct) => BeginMigrationAsync(c, schema, ct), cancellationToken).ConfigureAwait(false);
            return new PostgresDatabase(dataSource, location, schema, version);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await OpenAsync(_dataSource, Location, cancellationToken).ConfigureAwait(false);
                return await read(connection).ConfigureAwait(false);
            }
            catch (NpgsqlException e) when (IsBrokenConnection(e) && attempt == 1)
            {
                _dataSource.Clear();
            }
        }
    }

    public override Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken = default) =>
        WriteAsync(write, IsolationLevel.Serializable, cancellationToken);

    public override Task<T> WriteLockingRowsAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken = default) =>
        WriteAsync(write, IsolationLevel.ReadCommitted, cancellationToken);

    public override string ShareLock => " FOR KEY SHARE";
    public override bool DataModifyingCtes => true;

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, IsolationLevel isolation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        for (var attempt = 1; ; attempt++)
        {
            var committing = false;
            try
            {
                await using var connection = await OpenAsync(_dataSource, Location, cancellationToken).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken).ConfigureAwait(false);
                var result = await write(connection, transaction).ConfigureAwait(false);
                committing = true;
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
                && attempt < MaxWriteAttempts)
            {
                // Lost a conflict with a concurrent transaction: run it again on the state that won.
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException e) when (IsBrokenConnection(e) && !committing && attempt == 1)
            {
                // Nothing was committed: the transaction died with its connection.
                _dataSource.Clear();
            }
        }
    }

    /// <summary>timestamptz takes UTC only.</summary>
    public override object Timestamp(DateTimeOffset value) => value.ToUniversalTime();

    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource dataSource, string location, CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            // Refused, authentication failed, no such database, …: say which store, without the password.
            throw new StoreUnavailableException($"cannot connect to the PostgreSQL store {location}: {e.Message}", e);
        }
    }

    /// <summary>
    /// A pooled connection the server dropped (restart, failover, idle timeout): Npgsql finds out on first use. The
    /// pool is cleared and the operation tried once more on a new connection.
    /// </summary>
    private static bool IsBrokenConnection(NpgsqlException e) => e is PostgresException p
        ? p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
        : e.IsTransient;

    /// <summary>A transaction holding the schema's migration lock until it ends (commit, rollback or disconnect).</summary>
    private static async Task<DbTransaction> BeginMigrationAsync(DbConnection connection, string schema, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.ExecuteAsync(transaction, "SELECT pg_advisory_xact_lock(hashtext(@key))", cancellationToken,
                ("@key", "trustlaunch migrations " + schema)).ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
