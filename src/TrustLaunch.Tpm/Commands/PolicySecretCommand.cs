using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_PolicySecret with no expiry, cpHash or policyRef: proves knowledge of the auth entity's secret.</summary>
public sealed class PolicySecretCommand(uint authHandle, uint policySession) : TpmVoidCommand
{
    public override TpmCc Code => TpmCc.PolicySecret;
    public override IReadOnlyList<uint> Handles => [authHandle, policySession];

    public override void WriteParameters(TpmWriter w) =>
        w.WriteSized([]).WriteSized([]).WriteSized([]).WriteUInt32(0);

    public override TpmNoResponse ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        r.ReadSized("timeout", 8);
        r.ReadUInt16("policyTicket.tag");
        r.ReadUInt32("policyTicket.hierarchy");
        r.ReadSized("policyTicket.digest", TpmHash.MaxDigestSize);
        return default;
    }
}
