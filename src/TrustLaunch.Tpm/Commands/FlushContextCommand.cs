using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_FlushContext: the handle travels as a parameter, not in the handle area.</summary>
public sealed class FlushContextCommand(uint handle) : TpmVoidCommand
{
    public override TpmCc Code => TpmCc.FlushContext;
    public override void WriteParameters(TpmWriter w) => w.WriteUInt32(handle);
}
