using System.Globalization;
using System.Security.Cryptography;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Layers;

/// <summary>What every read-only, forward-only stream of the unpacker says about seeking and writing: no.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Base for the read-only, forward-only wrappers below.</summary>
internal abstract class ReadOnlyWrapperStream(Stream inner, bool leaveOpen) : ReadOnlyStream
{
    protected Stream Inner { get; } = inner;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        var n = Inner.Read(buffer);
        Seen(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Seen(buffer.Span[..n]);
        return n;
    }

    protected abstract void Seen(ReadOnlySpan<byte> data);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
            Inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Counts the compressed bytes the decompressor pulls.</summary>
internal sealed class CountingStream(Stream inner, bool leaveOpen) : ReadOnlyWrapperStream(inner, leaveOpen)
{
    public long Count { get; private set; }

    protected override void Seen(ReadOnlySpan<byte> data) => Count += data.Length;
}

/// <summary>Stops a decompressed stream that grows past the size or ratio limit.</summary>
internal sealed class LimitedStream(Stream decompressed, CountingStream compressed, LayerLimits limits, Digest layer)
    : ReadOnlyWrapperStream(decompressed, leaveOpen: false)
{
    public long Count { get; private set; }

    protected override void Seen(ReadOnlySpan<byte> data)
    {
        Count += data.Length;
        if (Count > limits.MaxUncompressedBytes)
            throw new LayerLimitException($"layer {layer} expands beyond {limits.MaxUncompressedBytes} bytes (the configured maximum)");
        if (Count > limits.RatioGraceBytes && Count > limits.MaxRatio * Math.Max(compressed.Count, 1))
            throw new LayerLimitException(string.Create(CultureInfo.InvariantCulture, $"layer {layer} expands beyond {limits.MaxRatio:0.##}:1 (decompression bomb?)"));
    }
}

/// <summary>Hashes everything read through it: the diff_id of the uncompressed tar.</summary>
internal sealed class HashingStream(Stream inner, IncrementalHash hash) : ReadOnlyWrapperStream(inner, leaveOpen: true)
{
    public long Count { get; private set; }

    protected override void Seen(ReadOnlySpan<byte> data)
    {
        Count += data.Length;
        hash.AppendData(data);
    }
}

/// <summary>Gives back the bytes read to sniff the format, then the rest of the stream.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ReadOnlyWrapperStream(inner, leaveOpen: false)
{
    private int _offset;

    public override int Read(Span<byte> buffer)
    {
        if (_offset < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }
        return Inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _offset < prefix.Length ? ValueTask.FromResult(Read(buffer.Span)) : Inner.ReadAsync(buffer, cancellationToken);

    protected override void Seen(ReadOnlySpan<byte> data) { }
}
