using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;

namespace TrustLaunch.Oci.Crypt;

/// <summary>
/// AES-CTR keystream as Go's <c>cipher.NewCTR</c> makes it (what ocicrypt uses): the 16-byte nonce is the first
/// counter block, incremented as one big-endian 128-bit integer. .NET has no CTR mode; the keystream is AES-ECB over
/// a batch of counter blocks, XORed in.
/// </summary>
internal sealed class AesCtr : IDisposable
{
    // 64 KiB of keystream per call into the AES implementation: each call has a fixed cost (a cipher context set up
    // with the key), which at 4 KiB per call made decryption the slowest stage of an encrypted pull.
    private const int BatchBlocks = 4096;
    private readonly Aes _aes;
    private readonly byte[] _counter = new byte[16];
    private readonly byte[] _counters = new byte[BatchBlocks * 16];
    private readonly byte[] _keystream = new byte[BatchBlocks * 16];
    private int _keystreamOffset = BatchBlocks * 16;

    public AesCtr(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != 32)
            throw new CryptographicException($"AES-256-CTR key is {key.Length} bytes, expected 32");
        if (nonce.Length != 16)
            throw new CryptographicException($"AES-256-CTR nonce is {nonce.Length} bytes, expected 16");
        _aes = Aes.Create();
        _aes.Key = key.ToArray();
        nonce.CopyTo(_counter);
    }

    /// <summary>XORs the next keystream bytes into <paramref name="data"/> (encrypts or decrypts in place).</summary>
    public void Transform(Span<byte> data)
    {
        while (data.Length > 0)
        {
            if (_keystreamOffset == _keystream.Length)
                Refill();
            var n = Math.Min(data.Length, _keystream.Length - _keystreamOffset);
            Xor(data[..n], _keystream.AsSpan(_keystreamOffset, n));
            _keystreamOffset += n;
            data = data[n..];
        }
    }

    private void Refill()
    {
        for (var b = 0; b < BatchBlocks; b++)
        {
            _counter.CopyTo(_counters, b * 16);
            for (var i = 15; i >= 0 && ++_counter[i] == 0; i--)
            {
            }
        }
        var written = _aes.EncryptEcb(_counters, _keystream, PaddingMode.None);
        Debug.Assert(written == _keystream.Length);
        _keystreamOffset = 0;
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> keystream)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= data.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                (new Vector<byte>(data[i..]) ^ new Vector<byte>(keystream[i..])).CopyTo(data[i..]);
        }
        for (; i < data.Length; i++)
            data[i] ^= keystream[i];
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_keystream);
        _aes.Dispose();
    }
}
