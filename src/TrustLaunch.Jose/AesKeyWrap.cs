using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TrustLaunch.Jose;

/// <summary>
/// AES Key Wrap, RFC 3394 (the JWE <c>A256KW</c> step of <c>ECDH-ES+A256KW</c>). .NET only offers the padded variant
/// (RFC 5649, a different integrity value), so the six-round wrap is written here on AES-ECB single blocks.
/// </summary>
public static class AesKeyWrap
{
    private const ulong DefaultIv = 0xA6A6A6A6A6A6A6A6;

    /// <summary>Wraps <paramref name="keyData"/> (a multiple of 8 bytes, at least 16) under <paramref name="kek"/>.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> keyData)
    {
        if (keyData.Length < 16 || keyData.Length % 8 != 0)
            throw new ArgumentException($"key data of {keyData.Length} bytes cannot be wrapped: needs a multiple of 8, at least 16", nameof(keyData));
        var n = keyData.Length / 8;
        var output = new byte[keyData.Length + 8];
        keyData.CopyTo(output.AsSpan(8));
        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        Span<byte> block = stackalloc byte[16];
        var a = DefaultIv;
        for (var j = 0; j < 6; j++)
        {
            for (var i = 1; i <= n; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(block, a);
                output.AsSpan(8 * i, 8).CopyTo(block[8..]);
                aes.EncryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block) ^ (ulong)(n * j + i);
                block[8..].CopyTo(output.AsSpan(8 * i, 8));
            }
        }
        BinaryPrimitives.WriteUInt64BigEndian(output, a);
        CryptographicOperations.ZeroMemory(block);
        return output;
    }

    /// <summary>Unwraps; throws <see cref="CryptographicException"/> when the integrity value does not check out
    /// (wrong key-encryption key or modified data).</summary>
    public static byte[] Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < 24 || wrapped.Length % 8 != 0)
            throw new CryptographicException($"wrapped key of {wrapped.Length} bytes is not a multiple of 8 of at least 24");
        var n = wrapped.Length / 8 - 1;
        var r = wrapped[8..].ToArray();
        var a = BinaryPrimitives.ReadUInt64BigEndian(wrapped);
        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        Span<byte> block = stackalloc byte[16];
        for (var j = 5; j >= 0; j--)
        {
            for (var i = n; i >= 1; i--)
            {
                BinaryPrimitives.WriteUInt64BigEndian(block, a ^ (ulong)(n * j + i));
                r.AsSpan(8 * (i - 1), 8).CopyTo(block[8..]);
                aes.DecryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block);
                block[8..].CopyTo(r.AsSpan(8 * (i - 1), 8));
            }
        }
        CryptographicOperations.ZeroMemory(block);
        Span<byte> check = stackalloc byte[8], expected = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(check, a);
        BinaryPrimitives.WriteUInt64BigEndian(expected, DefaultIv);
        if (!CryptographicOperations.FixedTimeEquals(check, expected))
        {
            CryptographicOperations.ZeroMemory(r);
            throw new CryptographicException("AES key unwrap failed: integrity check value mismatch");
        }
        return r;
    }
}
