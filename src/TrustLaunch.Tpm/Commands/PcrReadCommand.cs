using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_PCR_Read's answer: the selection actually read (the TPM reads at most 8 digests per call) and the values in selection order.</summary>
public sealed record PcrReadResponse(uint UpdateCounter, IReadOnlyList<PcrSelection> Selection, IReadOnlyList<byte[]> Values);

/// <summary>TPM2_PCR_Read.</summary>
public sealed class PcrReadCommand(IReadOnlyList<PcrSelection> selection) : TpmCommand<PcrReadResponse>
{
    private const int MaxDigests = 8;

    public override TpmCc Code => TpmCc.PcrRead;
    public override void WriteParameters(TpmWriter w) => PcrSelection.WriteList(w, selection);

    public override PcrReadResponse ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var counter = r.ReadUInt32("pcrUpdateCounter");
        var selected = PcrSelection.ReadList(ref r);
        var count = r.ReadUInt32("pcrValues.count");
        if (count > MaxDigests)
            r.Throw($"pcrValues.count {count} exceeds {MaxDigests}");
        var values = new byte[count][];
        for (var i = 0; i < count; i++)
            values[i] = r.ReadSized("pcrValues.digest", TpmHash.MaxDigestSize).ToArray();
        if (selected.Sum(s => s.Pcrs.Count) != count)
            r.Throw($"{count} values for {selected.Sum(s => s.Pcrs.Count)} selected PCRs");
        return new PcrReadResponse(counter, selected, values);
    }
}
