using System.Security.Cryptography;

namespace TrustLaunch.Oci.Crypt;

/// <summary>
/// Read-only plaintext of an <c>AES_256_CTR_HMAC_SHA256</c> layer. The HMAC-SHA256 over the ciphertext can only be
/// checked once the last byte has passed, so <b>the end of the stream is the commit point</b>: a read that reaches
/// the end throws <see cref="LayerIntegrityException"/> instead of returning 0 when the HMAC does not match, and
/// callers must not commit anything derived from the plaintext (rename an unpacked tree into place, store a blob,
/// record a diff_id) until a read has returned 0. Bytes returned before that are unauthenticated.
/// </summary>
public sealed class DecryptingStream : Stream
{
    private readonly Stream _ciphertext;
    private readonly bool _leaveOpen;
    private readonly AesCtr _ctr;
    private readonly IncrementalHash _hmac;
    private readonly byte[] _expectedHmac;
    private readonly string _layer;
    private bool _verified;
    private long _position;

    internal DecryptingStream(Stream ciphertext, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, byte[] expectedHmac, string layer, bool leaveOpen)
    {
        _ciphertext = ciphertext;
        _leaveOpen = leaveOpen;
        _ctr = new AesCtr(key, nonce);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        _expectedHmac = expectedHmac;
        _layer = layer;
    }

    public override int Read(Span<byte> buffer)
    {
        if (_verified || buffer.Length == 0)
            return 0;
        var n = _ciphertext.Read(buffer);
        return Process(buffer, n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_verified || buffer.Length == 0)
            return 0;
        var n = await _ciphertext.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Process(buffer.Span, n);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Process(Span<byte> buffer, int n)
    {
        if (n == 0)
        {
            Span<byte> actual = stackalloc byte[32];
            _hmac.GetHashAndReset(actual);
            if (!CryptographicOperations.FixedTimeEquals(actual, _expectedHmac))
                throw new LayerIntegrityException($"layer {_layer}: HMAC mismatch at end of stream after {_position} bytes: the encrypted layer was modified; discard everything read from it");
            _verified = true;
            return 0;
        }
        _hmac.AppendData(buffer[..n]);
        _ctr.Transform(buffer[..n]);
        _position += n;
        return n;
    }

    /// <summary>True once the end was reached and the HMAC matched.</summary>
    public bool IsVerified => _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ctr.Dispose();
            _hmac.Dispose();
            if (!_leaveOpen)
                _ciphertext.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>An encrypted layer failed its integrity check (HMAC): nothing read from it may be used.</summary>
public sealed class LayerIntegrityException(string message) : CryptographicException(message);
