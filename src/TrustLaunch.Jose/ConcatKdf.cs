using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Jose;

/// <summary>
/// The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as JWA uses it for ECDH-ES (RFC 7518 §4.6.2):
/// rounds of SHA-256(u32 counter || Z || OtherInfo), OtherInfo = len(alg) alg || len(apu) apu || len(apv) apv ||
/// u32 keydatalen (bits).
/// </summary>
public static class ConcatKdf
{
    /// <param name="algorithmId">The <c>alg</c> of a key-agreement-with-wrap (<c>ECDH-ES+A256KW</c>), or the
    /// <c>enc</c> for direct key agreement.</param>
    public static byte[] DeriveKey(ReadOnlySpan<byte> z, string algorithmId, ReadOnlySpan<byte> apu, ReadOnlySpan<byte> apv, int keyBits)
    {
        if (keyBits <= 0 || keyBits % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(keyBits), keyBits, "key length must be a positive multiple of 8 bits");
        var alg = Encoding.ASCII.GetBytes(algorithmId);
        var output = new byte[keyBits / 8];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> u32 = stackalloc byte[4];
        Span<byte> round = stackalloc byte[32];
        for (uint counter = 1, done = 0; done < output.Length; counter++, done += 32)
        {
            BinaryPrimitives.WriteUInt32BigEndian(u32, counter);
            hash.AppendData(u32);
            hash.AppendData(z);
            AppendWithLength(hash, alg, u32);
            AppendWithLength(hash, apu, u32);
            AppendWithLength(hash, apv, u32);
            BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)keyBits);
            hash.AppendData(u32);
            hash.GetHashAndReset(round);
            round[..Math.Min(32, output.Length - (int)done)].CopyTo(output.AsSpan((int)done));
        }
        CryptographicOperations.ZeroMemory(round);
        return output;

        static void AppendWithLength(IncrementalHash hash, ReadOnlySpan<byte> part, Span<byte> u32)
        {
            BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)part.Length);
            hash.AppendData(u32);
            hash.AppendData(part);
        }
    }
}
