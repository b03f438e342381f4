using System.Security.Cryptography;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Registry;

/// <summary>
/// A read-only stream over content named by a digest that hashes the bytes as they pass and counts them: more bytes
/// than the declared size fail at once, and at the end a short stream or a different digest throws
/// <see cref="OciSizeMismatchException"/> / <see cref="OciDigestMismatchException"/> instead of returning end of stream.
/// When the underlying stream breaks, a <c>reopen</c> callback (if given) gets the offset to continue from.
/// </summary>
public sealed class VerifyingStream : Stream
{
    private readonly Func<long, CancellationToken, Task<Stream>>? _reopen;
    private readonly int _maxReopens;
    private readonly TimeSpan? _readTimeout;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash _hash;
    private Stream _inner;
    private long _position;
    private int _failures;
    private bool _verified;

    public VerifyingStream(Stream inner, Digest expected, long expectedSize, string what,
        Func<long, CancellationToken, Task<Stream>>? reopen = null, int maxReopens = 5, TimeSpan? readTimeout = null, bool leaveOpen = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedSize);
        _inner = inner;
        Expected = expected;
        ExpectedSize = expectedSize;
        What = what;
        _reopen = reopen;
        _maxReopens = maxReopens;
        _readTimeout = readTimeout;
        _leaveOpen = leaveOpen;
        _hash = expected.CreateHash();
    }

    public Digest Expected { get; }
    public long ExpectedSize { get; }
    public string What { get; }

    /// <summary>True once the whole content was read and matched its digest and size.</summary>
    public bool Verified => _verified;

    /// <summary>How many times the underlying stream broke and was reopened.</summary>
    public int Reopens { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => ExpectedSize;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        while (true)
        {
            int read;
            try
            {
                read = await ReadInnerAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                if (_position == ExpectedSize)
                {
                    read = 0; // everything arrived; the connection broke at its end
                }
                else
                {
                    if (_reopen is null || _failures >= _maxReopens)
                        throw new IOException($"{What}: connection broke after {_position} of {ExpectedSize} bytes: {e.Message}", e);
                    _failures++;
                    Reopens++;
                    await _inner.DisposeAsync();
                    _inner = await _reopen(_position, cancellationToken);
                    continue;
                }
            }
            if (read == 0)
            {
                Finish();
                return 0;
            }
            if (_position + read > ExpectedSize)
                throw new OciSizeMismatchException(What, ExpectedSize, _position + read, tooLong: true);
            _hash.AppendData(buffer.Span[..read]);
            _position += read;
            _failures = 0;
            return read;
        }
    }

    private async ValueTask<int> ReadInnerAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_readTimeout is not { } timeout)
            return await _inner.ReadAsync(buffer, cancellationToken);
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stalled.CancelAfter(timeout);
        try
        {
            return await _inner.ReadAsync(buffer, stalled.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no data for {timeout.TotalSeconds:0.#} s");
        }
    }

    private void Finish()
    {
        if (_verified)
            return;
        if (_position != ExpectedSize)
            throw new OciSizeMismatchException(What, ExpectedSize, _position, tooLong: false);
        var actual = Digest.FromHash(Expected.Algorithm, _hash.GetHashAndReset());
        if (actual != Expected)
            throw new OciDigestMismatchException(What, Expected, actual);
        _verified = true;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_leaveOpen)
                _inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_leaveOpen)
            await _inner.DisposeAsync();
        _hash.Dispose();
        await base.DisposeAsync();
    }
}
