using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_Startup.</summary>
public sealed class StartupCommand(TpmSu type) : TpmVoidCommand
{
    public override TpmCc Code => TpmCc.Startup;
    public override void WriteParameters(TpmWriter w) => w.WriteUInt16((ushort)type);
}
