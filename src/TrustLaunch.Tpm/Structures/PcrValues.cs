using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

/// <summary>PCR values for a selection, in selection order (banks as listed, PCRs ascending).</summary>
public sealed class PcrValues
{
    private readonly Dictionary<(TpmAlgId Bank, int Pcr), byte[]> _values;

    public PcrValues(IReadOnlyList<PcrSelection> selection, IReadOnlyDictionary<(TpmAlgId Bank, int Pcr), byte[]> values)
    {
        Selection = selection;
        _values = new Dictionary<(TpmAlgId, int), byte[]>(values);
        foreach (var (bank, pcr) in Entries)
        {
            if (!_values.TryGetValue((bank, pcr), out var v))
                throw new ArgumentException($"no value for {TpmHash.ToName(bank)}:{pcr}");
            if (v.Length != TpmHash.DigestSize(bank))
                throw new ArgumentException($"{TpmHash.ToName(bank)}:{pcr} is {v.Length} bytes, expected {TpmHash.DigestSize(bank)}");
        }
    }

    public IReadOnlyList<PcrSelection> Selection { get; }

    public byte[] this[TpmAlgId bank, int pcr] => _values[(bank, pcr)];

    public IEnumerable<(TpmAlgId Bank, int Pcr)> Entries => Selection.SelectMany(s => s.Pcrs.Select(p => (s.Bank, p)));

    /// <summary>The values concatenated in selection order: what <c>tpm2_quote -o -F values</c> writes.</summary>
    public byte[] Concatenate()
    {
        var w = new TpmWriter();
        foreach (var key in Entries)
            w.WriteBytes(_values[key]);
        return w.ToArray();
    }

    /// <summary>H(concatenated values): the pcrDigest a quote over this selection must carry.</summary>
    public byte[] ComputeDigest(TpmAlgId hash) => TpmHash.Hash(hash, Concatenate());

    /// <summary>Splits a <c>-F values</c> file (values concatenated in selection order) by the selection.</summary>
    public static PcrValues FromConcatenated(IReadOnlyList<PcrSelection> selection, ReadOnlySpan<byte> data)
    {
        var values = new Dictionary<(TpmAlgId, int), byte[]>();
        var r = new TpmReader(data, "PCR values");
        foreach (var s in selection)
        {
            if (!TpmHash.IsHash(s.Bank))
                r.Throw($"bank 0x{(ushort)s.Bank:X4} is not a supported hash");
            foreach (var pcr in s.Pcrs)
                values[(s.Bank, pcr)] = r.ReadBytes(TpmHash.DigestSize(s.Bank), $"{TpmHash.ToName(s.Bank)}:{pcr}").ToArray();
        }
        r.ExpectEnd();
        return new PcrValues(selection, values);
    }
}
