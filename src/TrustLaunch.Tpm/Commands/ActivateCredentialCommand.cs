using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_ActivateCredential: recovers a credential bound to the activated key's name, sealed to the EK.</summary>
public sealed class ActivateCredentialCommand(uint activateHandle, uint keyHandle, byte[] credentialBlob, byte[] secret)
    : TpmCommand<byte[]>
{
    public override TpmCc Code => TpmCc.ActivateCredential;
    public override IReadOnlyList<uint> Handles => [activateHandle, keyHandle];

    public override void WriteParameters(TpmWriter w) => w.WriteSized(credentialBlob).WriteSized(secret);

    public override byte[] ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        r.ReadSized("certInfo", TpmHash.MaxDigestSize).ToArray();
}
