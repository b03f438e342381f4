using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_PCR_Extend with one digest per bank (TPML_DIGEST_VALUES).</summary>
public sealed class PcrExtendCommand(int pcr, IReadOnlyList<(TpmAlgId Bank, byte[] Digest)> digests) : TpmVoidCommand
{
    public override TpmCc Code => TpmCc.PcrExtend;
    public override IReadOnlyList<uint> Handles => [(uint)pcr];

    public override void WriteParameters(TpmWriter w)
    {
        w.WriteUInt32((uint)digests.Count);
        foreach (var (bank, digest) in digests)
        {
            if (digest.Length != TpmHash.DigestSize(bank))
                throw new ArgumentException($"a {TpmHash.ToName(bank)} digest is {TpmHash.DigestSize(bank)} bytes, got {digest.Length}");
            w.WriteUInt16((ushort)bank).WriteBytes(digest);
        }
    }
}
