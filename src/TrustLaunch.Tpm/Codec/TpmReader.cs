using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace TrustLaunch.Tpm.Codec;

/// <summary>
/// Big-endian reader over a TPM structure. Every read checks bounds first and fails with a
/// <see cref="TpmFormatException"/> that names the structure and the field.
/// </summary>
public ref struct TpmReader(ReadOnlySpan<byte> buffer, string structure)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private int _position;

    public readonly string Structure { get; } = structure;
    public readonly int Position => _position;
    public readonly int Remaining => _buffer.Length - _position;

    public byte ReadByte(string field) => Take(1, field)[0];

    public ushort ReadUInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Take(2, field));

    public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    public ulong ReadUInt64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Take(8, field));

    public ReadOnlySpan<byte> ReadBytes(int count, string field) => Take(count, field);

    /// <summary>A TPM2B: u16 size then that many bytes, refused when larger than <paramref name="maxSize"/>.</summary>
    public ReadOnlySpan<byte> ReadSized(string field, int maxSize)
    {
        var size = ReadUInt16(field + ".size");
        if (size > maxSize)
            Throw($"{field}: size {size} exceeds the maximum of {maxSize}");
        return Take(size, field);
    }

    /// <summary>A u32-size prefixed area (command and response parameter areas).</summary>
    public ReadOnlySpan<byte> ReadSized32(string field, int maxSize)
    {
        var size = ReadUInt32(field + ".size");
        if (size > (uint)maxSize)
            Throw($"{field}: size {size} exceeds the maximum of {maxSize}");
        return Take((int)size, field);
    }

    public readonly void ExpectEnd()
    {
        if (Remaining != 0)
            Throw($"{Remaining} unexpected trailing bytes");
    }

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > Remaining)
            Throw($"{field}: needs {count} bytes at offset {_position}, only {Remaining} remain");
        var slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }

    [DoesNotReturn]
    public readonly void Throw(string detail) => throw new TpmFormatException($"{Structure}: {detail}");
}
