using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPMS_NV_PUBLIC and the index name.</summary>
public sealed record NvPublic(uint Index, TpmAlgId NameAlg, uint Attributes, byte[] AuthPolicy, ushort DataSize, byte[] Name);

/// <summary>TPM2_NV_ReadPublic.</summary>
public sealed class NvReadPublicCommand(uint index) : TpmCommand<NvPublic>
{
    public override TpmCc Code => TpmCc.NvReadPublic;
    public override IReadOnlyList<uint> Handles => [index];

    public override NvPublic ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var body = r.ReadSized("nvPublic", 256);
        var p = new TpmReader(body, "TPMS_NV_PUBLIC");
        var nvIndex = p.ReadUInt32("nvIndex");
        var nameAlg = (TpmAlgId)p.ReadUInt16("nameAlg");
        var attributes = p.ReadUInt32("attributes");
        var policy = p.ReadSized("authPolicy", TpmHash.MaxDigestSize).ToArray();
        var size = p.ReadUInt16("dataSize");
        p.ExpectEnd();
        var name = CreationCodec.ReadName(ref r, "nvName");
        return new NvPublic(nvIndex, nameAlg, attributes, policy, size, name);
    }
}
