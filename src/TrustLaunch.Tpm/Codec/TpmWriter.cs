using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TrustLaunch.Tpm.Codec;

/// <summary>Big-endian writer for TPM structures and command buffers.</summary>
public sealed class TpmWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public TpmWriter(int initialCapacity = 256) => _buffer = new ArrayBufferWriter<byte>(initialCapacity);

    public int Length => _buffer.WrittenCount;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public TpmWriter WriteByte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
        return this;
    }

    public TpmWriter WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
        return this;
    }

    public TpmWriter WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public TpmWriter WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public TpmWriter WriteBytes(ReadOnlySpan<byte> value)
    {
        _buffer.Write(value);
        return this;
    }

    /// <summary>A TPM2B: u16 size then the bytes.</summary>
    public TpmWriter WriteSized(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(value), $"a TPM2B holds at most {ushort.MaxValue} bytes");
        WriteUInt16((ushort)value.Length);
        return WriteBytes(value);
    }

    /// <summary>Writes a TPM2B whose body is produced by <paramref name="body"/> (e.g. TPM2B_PUBLIC around TPMT_PUBLIC).</summary>
    public TpmWriter WriteSized(Action<TpmWriter> body)
    {
        var inner = new TpmWriter();
        body(inner);
        return WriteSized(inner.WrittenSpan);
    }

    /// <summary>Overwrites a big-endian u32 written earlier (the command size in the header).</summary>
    public void PatchUInt32(int offset, uint value)
    {
        // ArrayBufferWriter exposes its written memory read-only; it is still the array this writer owns.
        var written = MemoryMarshal.AsMemory(_buffer.WrittenMemory).Span;
        BinaryPrimitives.WriteUInt32BigEndian(written.Slice(offset, 4), value);
    }
}
