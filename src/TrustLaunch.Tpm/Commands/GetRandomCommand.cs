using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_GetRandom: at most one digest's worth of bytes per call.</summary>
public sealed class GetRandomCommand(ushort bytesRequested) : TpmCommand<byte[]>
{
    public override TpmCc Code => TpmCc.GetRandom;
    public override void WriteParameters(TpmWriter w) => w.WriteUInt16(bytesRequested);

    public override byte[] ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        r.ReadSized("randomBytes", TpmHash.MaxDigestSize).ToArray();
}
