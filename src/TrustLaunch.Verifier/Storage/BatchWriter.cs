using System.Data.Common;
using System.Threading.Channels;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// Group commit: writes queued while a transaction commits go together into the next one, so concurrent attestations
/// share a commit (one fsync on SQLite, one round trip on PostgreSQL) instead of taking turns. Each write runs in that
/// transaction with its own checks and its own answer, handed back only after the commit. When a write fails, the
/// batch rolls back and each of its writes is run again alone, so a bad write fails only its own caller; a failed
/// commit fails every caller in it, as it would have alone. A caller cancelled before its write was taken into a batch
/// is never written. Several batches may commit at once (<c>writers</c>): PostgreSQL overlaps their round trips, where
/// SQLite, with one writer, gains nothing. The queue is bounded (<c>capacity</c>): when commits fall behind, callers
/// wait for room (back-pressure on the attestations) instead of the queue growing without limit. Every write must
/// hold its checks by the row locks it takes (<see cref="StoreDatabase.WriteLockingRowsAsync{T}"/>): batches run READ
/// COMMITTED on PostgreSQL.
/// </summary>
public sealed class BatchWriter<T> : IAsyncDisposable
{
    private readonly StoreDatabase _database;
    private readonly int _maxBatch;
    private readonly Channel<Pending> _queue;
    private readonly Task[] _loops;

    public BatchWriter(StoreDatabase database, int maxBatch, int capacity, int writers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(writers, 1);
        _database = database;
        _maxBatch = maxBatch;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = writers == 1,
        });
        _loops = [.. Enumerable.Range(0, writers).Select(_ => Task.Run(CommitLoopAsync))];
    }

    /// <summary>Writes queued for the next batch, at most the capacity.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>
    /// Runs <paramref name="write"/> (which may run more than once, see <see cref="StoreDatabase.WriteLockingRowsAsync{T}"/>) in
    /// the next batch, waiting first for room in the queue while it is full.
    /// </summary>
    public async Task<T> WriteAsync(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        var pending = new Pending(write);
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(BatchWriter<T>));
        }
        using var registration = cancellationToken.Register(static (state, token) => ((Pending)state!).TryCancel(token), pending);
        return await pending.Done.Task.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private async Task CommitLoopAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var pending))
            {
                if (pending.TryTake())
                    batch.Add(pending);
            }
            if (batch.Count > 0)
                await CommitAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        T[] results;
        var allWritten = false;
        try
        {
            results = await _database.WriteLockingRowsAsync(async (connection, transaction) =>
            {
                allWritten = false;
                var answers = new T[batch.Count];
                for (var i = 0; i < batch.Count; i++)
                    answers[i] = await batch[i].Write(connection, transaction).ConfigureAwait(false);
                allWritten = true;
                return answers;
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (allWritten || batch.Count == 1)
        {
            // Failed at the commit (whether it took is unknown, so nothing is run again) or a batch of one: as if alone.
            foreach (var pending in batch)
                pending.Done.SetException(e);
            return;
        }
        catch (Exception)
        {
            // One write failed: the others must not fail with it.
            await CommitAloneAsync(batch).ConfigureAwait(false);
            return;
        }
        for (var i = 0; i < batch.Count; i++)
            batch[i].Done.SetResult(results[i]);
    }

    private async Task CommitAloneAsync(List<Pending> batch)
    {
        foreach (var pending in batch)
        {
            try
            {
                pending.Done.SetResult(await _database.WriteLockingRowsAsync(pending.Write).ConfigureAwait(false));
            }
            catch (Exception e)
            {
                pending.Done.SetException(e);
            }
        }
    }

    private sealed class Pending(Func<DbConnection, DbTransaction, Task<T>> write)
    {
        private const int Queued = 0, Taken = 1, Cancelled = 2;
        private int _state;

        public Func<DbConnection, DbTransaction, Task<T>> Write { get; } = write;
        public TaskCompletionSource<T> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Claims the write for a batch; false when its caller gave up first.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        /// <summary>Gives up a write not yet taken; one already in a batch is answered after its commit.</summary>
        public void TryCancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
                Done.TrySetCanceled(token);
        }
    }
}
