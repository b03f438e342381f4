using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_NV_Read of one chunk (at most TPM_PT_NV_BUFFER_MAX bytes).</summary>
public sealed class NvReadCommand(uint authHandle, uint index, ushort size, ushort offset) : TpmCommand<byte[]>
{
    public override TpmCc Code => TpmCc.NvRead;
    public override IReadOnlyList<uint> Handles => [authHandle, index];
    public override void WriteParameters(TpmWriter w) => w.WriteUInt16(size).WriteUInt16(offset);

    public override byte[] ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var data = r.ReadSized("data", 4096);
        if (data.Length != size)
            r.Throw($"data is {data.Length} bytes, asked for {size}");
        return data.ToArray();
    }
}
