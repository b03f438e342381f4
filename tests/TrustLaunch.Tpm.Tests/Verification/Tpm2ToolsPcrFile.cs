using System.Buffers.Binary;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>
/// The PCR file tpm2-tools 5.4 <c>tpm2_checkquote -f</c> reads (and <c>tpm2_quote -o</c> writes by default): its
/// in-memory structs dumped in host byte order (little-endian here), not the raw values of <c>-F values</c>.
/// TPML_PCR_SELECTION {u32 count; 16 × {u16 hash; u8 sizeofSelect; u8 pcrSelect[4]; pad}}, u32 number of digest
/// lists, then per list TPML_DIGEST {u32 count; 8 × TPM2B_DIGEST {u16 size; u8 buffer[64]}}.
/// </summary>
public static class Tpm2ToolsPcrFile
{
    private const int MaxBanks = 16;
    private const int SelectionEntrySize = 8;
    private const int DigestsPerList = 8;
    private const int DigestEntrySize = 2 + TpmHash.MaxDigestSize;
    private const int DigestListSize = 4 + DigestsPerList * DigestEntrySize;

    public static byte[] Serialize(PcrValues values)
    {
        var digests = values.Entries.Select(e => values[e.Bank, e.Pcr]).ToArray();
        var lists = Math.Max(1, (digests.Length + DigestsPerList - 1) / DigestsPerList);
        var file = new byte[4 + MaxBanks * SelectionEntrySize + 4 + lists * DigestListSize];
        var span = file.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)values.Selection.Count);
        for (var i = 0; i < values.Selection.Count; i++)
        {
            var entry = span.Slice(4 + i * SelectionEntrySize, SelectionEntrySize);
            BinaryPrimitives.WriteUInt16LittleEndian(entry, (ushort)values.Selection[i].Bank);
            entry[2] = 3;
            foreach (var pcr in values.Selection[i].Pcrs)
                entry[3 + pcr / 8] |= (byte)(1 << (pcr % 8));
        }
        var digestArea = span[(4 + MaxBanks * SelectionEntrySize)..];
        BinaryPrimitives.WriteUInt32LittleEndian(digestArea, (uint)lists);
        for (var list = 0; list < lists; list++)
        {
            var area = digestArea.Slice(4 + list * DigestListSize, DigestListSize);
            var inList = digests.Skip(list * DigestsPerList).Take(DigestsPerList).ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(area, (uint)inList.Length);
            for (var i = 0; i < inList.Length; i++)
            {
                var digest = area.Slice(4 + i * DigestEntrySize, DigestEntrySize);
                BinaryPrimitives.WriteUInt16LittleEndian(digest, (ushort)inList[i].Length);
                inList[i].CopyTo(digest[2..]);
            }
        }
        return file;
    }
}
