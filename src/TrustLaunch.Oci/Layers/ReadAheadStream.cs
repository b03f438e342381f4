using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Reads its source (decompression and diff_id hashing) on a background task, up to <see cref="Depth"/> chunks ahead,
/// so that work overlaps with the extraction reading this stream. Entries are still applied strictly in order;
/// memory stays bounded at about <see cref="Depth"/> + 2 chunks. The source is read to its end even if the reader
/// stops early; <see cref="DrainAsync"/> waits for that. Failures of the source surface from the next read.
/// </summary>
internal sealed class ReadAheadStream : ReadOnlyStream
{
    private const int ChunkSize = 1 << 20;
    private const int Depth = 4;

    private readonly Channel<(byte[] Buffer, int Count)> _chunks = Channel.CreateBounded<(byte[], int)>(
        new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer;
    private ExceptionDispatchInfo? _failure;
    private byte[]? _current;
    private int _offset;
    private int _count;
    private bool _disposed;

    public ReadAheadStream(Stream source, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _producer = Task.Run(() => ProduceAsync(source, _stop.Token), CancellationToken.None);
    }


    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        if (_offset == _count && !await NextChunkAsync(cancellationToken).ConfigureAwait(false))
            return 0;
        var n = Math.Min(buffer.Length, _count - _offset);
        _current.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    /// <summary>Discards what the reader did not take and waits until the source has been read to its end.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (await NextChunkAsync(cancellationToken).ConfigureAwait(false))
        {
        }
        await _producer.ConfigureAwait(false);
    }

    private async ValueTask<bool> NextChunkAsync(CancellationToken cancellationToken)
    {
        ReturnCurrent();
        if (!await _chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _failure?.Throw();
            return false;
        }
        (_current, _count) = await _chunks.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        _offset = 0;
        return true;
    }

    private async Task ProduceAsync(Stream source, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                var filled = 0;
                int n;
                while (filled < ChunkSize && (n = await source.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false)) > 0)
                    filled += n;
                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                await _chunks.Writer.WriteAsync((buffer, filled), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _chunks.Writer.Complete();
        }
    }

    private void ReturnCurrent()
    {
        if (_current is not null)
            ArrayPool<byte>.Shared.Return(_current);
        _current = null;
        _offset = _count = 0;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _producer.ConfigureAwait(false); // never throws: failures are kept in _failure
        ReturnCurrent();
        while (_chunks.Reader.TryRead(out var chunk))
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }
}
