using System.Data.Common;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// A service's relational store, SQLite (<see cref="SqliteDatabase"/>) or PostgreSQL (<see cref="PostgresDatabase"/>),
/// migrated on open. Stores write their SQL once for both: <c>@name</c> parameters, <c>TRUE</c>/<c>FALSE</c>,
/// upserts with <c>ON CONFLICT</c>, <c>RETURNING</c>; the one value that differs per backend goes through
/// <see cref="Timestamp(DateTimeOffset)"/>. Every write is one transaction, committed whole or not at all.
/// Also the <c>store</c> readiness check.
/// </summary>
public abstract class StoreDatabase(int schemaVersion) : IReadinessCheck, IAsyncDisposable
{
    public int SchemaVersion { get; } = schemaVersion;

    /// <summary>How many write transactions are worth running at once: SQLite has one writer, PostgreSQL several.</summary>
    public virtual int ConcurrentWriters => 1;
    public string Name => "store";

    /// <summary>Where the store is, for messages: a file path, or <c>postgres://user@host:port/db</c> (never a password).</summary>
    public abstract string Location { get; }

    /// <summary>Runs <paramref name="read"/> on its own connection; it sees committed state only.</summary>
    public abstract Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="write"/> in one transaction isolated as if writes ran one at a time, and commits it; an
    /// exception rolls everything back. Commands must set <c>Transaction</c> to the one given. The delegate may run
    /// more than once (PostgreSQL retries a transaction that lost a serialization conflict), so it must only touch
    /// the database.
    /// </summary>
    public abstract Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="WriteAsync{T}"/> for a write whose every check holds by row locks it takes itself: conditions on
    /// the rows its <c>UPDATE</c>s change (a concurrent change of such a row is waited for and the condition checked
    /// again on the new row) and on rows it reads with <see cref="ShareLock"/>; anything else it does only appends.
    /// PostgreSQL runs it READ COMMITTED, without SERIALIZABLE's predicate tracking and its conflict retries; SQLite,
    /// one writer at a time, runs it as any write.
    /// </summary>
    public virtual Task<T> WriteLockingRowsAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken = default) =>
        WriteAsync(write, cancellationToken);

    /// <summary>
    /// The clause ending a <c>SELECT</c> whose rows must not be deleted, nor their keys changed, until the transaction
    /// ends (another transaction's <c>DELETE</c> waits for it): <c> FOR KEY SHARE</c> on PostgreSQL, which, unlike
    /// <c>FOR SHARE</c>, lets updates of other columns through (a lease renewal does not queue behind every
    /// attestation, nor those behind it); nothing on SQLite, whose writers take turns.
    /// </summary>
    public virtual string ShareLock => "";

    /// <summary>
    /// Whether a <c>WITH</c> clause may hold an <c>UPDATE … RETURNING</c> whose rows a following statement uses, so
    /// dependent writes go in one statement (one round trip): PostgreSQL; SQLite has no data-modifying CTEs.
    /// </summary>
    public virtual bool DataModifyingCtes => false;

    /// <summary>A timestamp as this backend stores it (SQLite: ISO 8601 UTC text; PostgreSQL: timestamptz).</summary>
    public abstract object Timestamp(DateTimeOffset value);

    public object Timestamp(DateTimeOffset? value) => value is { } v ? Timestamp(v) : DBNull.Value;

    /// <summary>
    /// How long the readiness check waits for the store. A store across a network that went silent (a cut link drops
    /// packets, nothing is refused) would otherwise hold <c>/readyz</c> for the driver's command and connect timeouts
    /// together, longer than any probe waits, so the probe would see no answer instead of "not ready" and why.
    /// </summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var check = ReadAsync(async connection =>
        {
            await connection.ScalarAsync(null, "SELECT 1", abandon.Token).ConfigureAwait(false);
            return (string?)null;
        }, abandon.Token);
        try
        {
            // Not the driver's cancellation alone: cancelling a query sends a cancel request to the same silent server.
            return await check.WaitAsync(CheckTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!check.IsCompleted)
        {
            await abandon.CancelAsync().ConfigureAwait(false);
            _ = check.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return $"{Location}: no answer within {CheckTimeout.TotalSeconds:0} s";
        }
        catch (StoreUnavailableException e)
        {
            return e.Message;
        }
        catch (DbException e)
        {
            return $"{Location}: {e.Message}";
        }
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
