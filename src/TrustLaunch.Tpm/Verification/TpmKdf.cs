using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>
/// The two key derivation functions of TPM 2.0 Part 1, section 11.4.10: KDFa (SP800-108 counter mode with HMAC) and
/// KDFe (SP800-56A concatenation KDF). Labels are ASCII and get their terminating zero octet here.
/// </summary>
public static class TpmKdf
{
    private const int MaxLabelBytes = 64;
    private const int MaxBits = 8 * 1024;

    /// <summary>
    /// KDFa: for i = 1, 2, …: HMAC_hash(key, u32 i || label || 00 || contextU || contextV || u32 bits), concatenated
    /// and cut to <paramref name="bits"/>. When bits is not a multiple of 8 the unused high bits of the first octet are cleared.
    /// </summary>
    public static byte[] KdfA(TpmAlgId hash, ReadOnlySpan<byte> key, string label, ReadOnlySpan<byte> contextU, ReadOnlySpan<byte> contextV, int bits)
    {
        var result = new byte[CheckBits(bits)];
        KdfA(hash, key, label, contextU, contextV, bits, result);
        return result;
    }

    public static void KdfA(TpmAlgId hash, ReadOnlySpan<byte> key, string label, ReadOnlySpan<byte> contextU, ReadOnlySpan<byte> contextV, int bits, Span<byte> destination)
    {
        if (destination.Length != CheckBits(bits))
            throw new ArgumentException($"destination holds {destination.Length} bytes, {bits} bits need {(bits + 7) / 8}", nameof(destination));
        Span<byte> labelBytes = stackalloc byte[MaxLabelBytes + 1];
        var labelLength = EncodeLabel(label, labelBytes);
        Span<byte> u32 = stackalloc byte[4];
        Span<byte> block = stackalloc byte[TpmHash.MaxDigestSize];
        block = block[..TpmHash.DigestSize(hash)];
        using var hmac = IncrementalHash.CreateHMAC(TpmHash.Name(hash), key);
        try
        {
            for (uint counter = 1, filled = 0; filled < destination.Length; counter++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(u32, counter);
                hmac.AppendData(u32);
                hmac.AppendData(labelBytes[..labelLength]);
                hmac.AppendData(contextU);
                hmac.AppendData(contextV);
                BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)bits);
                hmac.AppendData(u32);
                hmac.GetHashAndReset(block);
                var take = Math.Min(block.Length, destination.Length - (int)filled);
                block[..take].CopyTo(destination[(int)filled..]);
                filled += (uint)take;
            }
            MaskLeadingBits(destination, bits);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(block);
        }
    }

    /// <summary>
    /// KDFe: for i = 1, 2, …: H(u32 i || Z || label || 00 || partyUInfo || partyVInfo), concatenated and cut to
    /// <paramref name="bits"/>. Z is the x-coordinate of the shared point, padded to the curve size.
    /// </summary>
    public static byte[] KdfE(TpmAlgId hash, ReadOnlySpan<byte> z, string label, ReadOnlySpan<byte> partyU, ReadOnlySpan<byte> partyV, int bits)
    {
        var result = new byte[CheckBits(bits)];
        Span<byte> labelBytes = stackalloc byte[MaxLabelBytes + 1];
        var labelLength = EncodeLabel(label, labelBytes);
        Span<byte> u32 = stackalloc byte[4];
        Span<byte> block = stackalloc byte[TpmHash.MaxDigestSize];
        block = block[..TpmHash.DigestSize(hash)];
        using var h = IncrementalHash.CreateHash(TpmHash.Name(hash));
        try
        {
            for (uint counter = 1, filled = 0; filled < result.Length; counter++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(u32, counter);
                h.AppendData(u32);
                h.AppendData(z);
                h.AppendData(labelBytes[..labelLength]);
                h.AppendData(partyU);
                h.AppendData(partyV);
                h.GetHashAndReset(block);
                var take = Math.Min(block.Length, result.Length - (int)filled);
                block[..take].CopyTo(result.AsSpan((int)filled));
                filled += (uint)take;
            }
            MaskLeadingBits(result, bits);
            return result;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(block);
        }
    }

    private static int CheckBits(int bits) => bits is > 0 and <= MaxBits
        ? (bits + 7) / 8
        : throw new ArgumentOutOfRangeException(nameof(bits), bits, $"a TPM KDF derives 1 to {MaxBits} bits");

    // The label is hashed with one terminating zero octet (Part 1, 11.4.10.2); a label that already ends in one keeps it.
    private static int EncodeLabel(string label, Span<byte> destination)
    {
        if (label.Length > MaxLabelBytes || !Ascii.IsValid(label))
            throw new ArgumentException($"a KDF label is ASCII of at most {MaxLabelBytes} characters", nameof(label));
        var length = Encoding.ASCII.GetBytes(label, destination);
        if (length == 0 || destination[length - 1] != 0)
            destination[length++] = 0;
        return length;
    }

    private static void MaskLeadingBits(Span<byte> output, int bits)
    {
        if (bits % 8 != 0)
            output[0] &= (byte)((1 << (bits % 8)) - 1);
    }
}
