using System.Buffers.Binary;

namespace TrustLaunch.Tpm.Transport;

/// <summary>The 10-byte TPM response header that tells how many bytes follow.</summary>
internal static class ResponseFraming
{
    public const int HeaderSize = 10;

    /// <summary>Larger than any TPM's TPM_PT_MAX_RESPONSE_SIZE; a size above it means a broken stream.</summary>
    public const int MaxResponseSize = 64 * 1024;

    public static int TotalSize(ReadOnlySpan<byte> header, string source)
    {
        var size = BinaryPrimitives.ReadUInt32BigEndian(header[2..6]);
        if (size < HeaderSize || size > MaxResponseSize)
            throw new TpmTransportException($"{source} sent a response header claiming {size} bytes");
        return (int)size;
    }
}
