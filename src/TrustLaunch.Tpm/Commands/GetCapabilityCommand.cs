using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>The decoded TPMS_CAPABILITY_DATA of one TPM2_GetCapability call; only the list that was asked for is filled.</summary>
public sealed record CapabilityData(
    bool MoreData,
    TpmCap Capability,
    IReadOnlyList<(TpmAlgId Algorithm, uint Attributes)> Algorithms,
    IReadOnlyList<uint> Handles,
    IReadOnlyList<PcrSelection> Pcrs,
    IReadOnlyList<(uint Property, uint Value)> Properties,
    IReadOnlyList<TpmEccCurve> Curves);

/// <summary>TPM2_GetCapability for algorithms, handles, PCR banks, fixed/variable properties and ECC curves.</summary>
public sealed class GetCapabilityCommand(TpmCap capability, uint property, uint count) : TpmCommand<CapabilityData>
{
    private const int MaxEntries = 1024;

    public override TpmCc Code => TpmCc.GetCapability;

    public override void WriteParameters(TpmWriter w) =>
        w.WriteUInt32((uint)capability).WriteUInt32(property).WriteUInt32(count);

    public override CapabilityData ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var more = r.ReadByte("moreData") != 0;
        var cap = (TpmCap)r.ReadUInt32("capabilityData.capability");
        if (cap != capability)
            r.Throw($"capability {cap} answered for {capability}");
        var algs = new List<(TpmAlgId, uint)>();
        var handleList = new List<uint>();
        IReadOnlyList<PcrSelection> pcrs = [];
        var props = new List<(uint, uint)>();
        var curves = new List<TpmEccCurve>();
        switch (cap)
        {
            case TpmCap.Algs:
                for (var i = ReadCount(ref r); i > 0; i--)
                    algs.Add(((TpmAlgId)r.ReadUInt16("alg"), r.ReadUInt32("algProperties")));
                break;
            case TpmCap.Handles:
                for (var i = ReadCount(ref r); i > 0; i--)
                    handleList.Add(r.ReadUInt32("handle"));
                break;
            case TpmCap.Pcrs:
                pcrs = PcrSelection.ReadList(ref r);
                break;
            case TpmCap.TpmProperties:
                for (var i = ReadCount(ref r); i > 0; i--)
                    props.Add((r.ReadUInt32("property"), r.ReadUInt32("value")));
                break;
            case TpmCap.EccCurves:
                for (var i = ReadCount(ref r); i > 0; i--)
                    curves.Add((TpmEccCurve)r.ReadUInt16("curve"));
                break;
            default:
                r.Throw($"capability {cap} is not decoded by TrustLaunch");
                break;
        }
        return new CapabilityData(more, cap, algs, handleList, pcrs, props, curves);
    }

    private static uint ReadCount(ref TpmReader r)
    {
        var n = r.ReadUInt32("count");
        if (n > MaxEntries)
            r.Throw($"count {n} exceeds {MaxEntries}");
        return n;
    }
}
