using System.Globalization;
using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

/// <summary>One TPMS_PCR_SELECTION: a bank and the PCRs chosen in it, kept in ascending order.</summary>
public sealed record PcrSelection
{
    public const int PcrCount = 24;
    /// <summary>PCR_SELECT_MIN: the TPM wants at least three bytes of bitmap.</summary>
    private const int MinSelectBytes = 3;
    private const int MaxSelectBytes = 8;

    public PcrSelection(TpmAlgId bank, IEnumerable<int> pcrs)
    {
        Bank = bank;
        var sorted = pcrs.Distinct().Order().ToArray();
        if (sorted.Any(p => p is < 0 or >= PcrCount))
            throw new ArgumentOutOfRangeException(nameof(pcrs), $"PCR indexes run from 0 to {PcrCount - 1}");
        Pcrs = sorted;
    }

    public TpmAlgId Bank { get; }
    public IReadOnlyList<int> Pcrs { get; }

    /// <summary>Parses tpm2-tools' form <c>sha256:0,1,15+sha1:7</c> (also accepts <c>all</c> for 0–23).</summary>
    public static IReadOnlyList<PcrSelection> ParseList(string text)
    {
        var result = new List<PcrSelection>();
        foreach (var part in text.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                throw new FormatException($"PCR selection '{part}' needs the form BANK:N,N,… e.g. sha256:0,1,15");
            var bank = TpmHash.Parse(part[..colon]);
            var list = part[(colon + 1)..];
            var pcrs = list == "all"
                ? Enumerable.Range(0, PcrCount)
                : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseIndex);
            result.Add(new PcrSelection(bank, pcrs));
        }
        if (result.Count == 0)
            throw new FormatException("empty PCR selection");
        return result;
    }

    private static int ParseIndex(string s) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < PcrCount
            ? i
            : throw new FormatException($"'{s}' is not a PCR index (0–{PcrCount - 1})");

    public bool Equals(PcrSelection? other) => other is not null && Bank == other.Bank && Pcrs.SequenceEqual(other.Pcrs);

    public override int GetHashCode() => HashCode.Combine(Bank, ToString());

    public override string ToString() => $"{TpmHash.ToName(Bank)}:{string.Join(',', Pcrs)}";

    public void Write(TpmWriter w)
    {
        w.WriteUInt16((ushort)Bank);
        Span<byte> bitmap = stackalloc byte[MinSelectBytes];
        foreach (var pcr in Pcrs)
            bitmap[pcr / 8] |= (byte)(1 << (pcr % 8));
        w.WriteByte(MinSelectBytes).WriteBytes(bitmap);
    }

    public static PcrSelection Read(ref TpmReader r)
    {
        var bank = (TpmAlgId)r.ReadUInt16("pcrSelect.hash");
        var size = r.ReadByte("pcrSelect.sizeofSelect");
        if (size > MaxSelectBytes)
            r.Throw($"pcrSelect.sizeofSelect {size} exceeds {MaxSelectBytes}");
        var bitmap = r.ReadBytes(size, "pcrSelect.pcrSelect");
        var pcrs = new List<int>();
        for (var i = 0; i < size * 8; i++)
        {
            if ((bitmap[i / 8] & (1 << (i % 8))) == 0)
                continue;
            if (i >= PcrCount)
                r.Throw($"pcrSelect selects PCR {i}, beyond the {PcrCount} PCRs of a PC client TPM");
            pcrs.Add(i);
        }
        return new PcrSelection(bank, pcrs);
    }

    public static void WriteList(TpmWriter w, IReadOnlyList<PcrSelection> selections)
    {
        w.WriteUInt32((uint)selections.Count);
        foreach (var s in selections)
            s.Write(w);
    }

    /// <summary>TPML_PCR_SELECTION; at most one entry per bank (HASH_COUNT is small).</summary>
    public static IReadOnlyList<PcrSelection> ReadList(ref TpmReader r)
    {
        const int maxBanks = 16;
        var count = r.ReadUInt32("pcrSelections.count");
        if (count > maxBanks)
            r.Throw($"pcrSelections.count {count} exceeds {maxBanks}");
        var list = new PcrSelection[count];
        for (var i = 0; i < count; i++)
            list[i] = Read(ref r);
        return list;
    }
}
