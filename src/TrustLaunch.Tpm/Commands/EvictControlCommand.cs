using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_EvictControl: makes a transient object persistent, or removes a persistent one.</summary>
public sealed class EvictControlCommand(uint auth, uint objectHandle, uint persistentHandle) : TpmVoidCommand
{
    public override TpmCc Code => TpmCc.EvictControl;
    public override IReadOnlyList<uint> Handles => [auth, objectHandle];
    public override void WriteParameters(TpmWriter w) => w.WriteUInt32(persistentHandle);
}
