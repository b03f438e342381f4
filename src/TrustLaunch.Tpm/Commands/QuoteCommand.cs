using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>Signed attestation as the TPM produced it: raw TPMS_ATTEST bytes and the TPMT_SIGNATURE over them.</summary>
public sealed record SignedAttestation(byte[] Attest, TpmSignature Signature);

/// <summary>TPM2_Quote with the key's own scheme (inScheme TPM_ALG_NULL).</summary>
public sealed class QuoteCommand(uint signHandle, byte[] qualifyingData, IReadOnlyList<PcrSelection> selection)
    : TpmCommand<SignedAttestation>
{
    public override TpmCc Code => TpmCc.Quote;
    public override IReadOnlyList<uint> Handles => [signHandle];

    public override void WriteParameters(TpmWriter w)
    {
        w.WriteSized(qualifyingData);
        w.WriteUInt16((ushort)TpmAlgId.Null);
        PcrSelection.WriteList(w, selection);
    }

    public override SignedAttestation ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        AttestationCodec.Read(ref r);
}

/// <summary>TPM2_Certify: the signer vouches that an object with a given name is loaded in this TPM.</summary>
public sealed class CertifyCommand(uint objectHandle, uint signHandle, byte[] qualifyingData) : TpmCommand<SignedAttestation>
{
    public override TpmCc Code => TpmCc.Certify;
    public override IReadOnlyList<uint> Handles => [objectHandle, signHandle];

    public override void WriteParameters(TpmWriter w) => w.WriteSized(qualifyingData).WriteUInt16((ushort)TpmAlgId.Null);

    public override SignedAttestation ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        AttestationCodec.Read(ref r);
}

internal static class AttestationCodec
{
    public static SignedAttestation Read(ref TpmReader r)
    {
        var attest = r.ReadSized("attest", TpmAttest.MaxSize).ToArray();
        var signature = TpmSignature.Read(ref r);
        return new SignedAttestation(attest, signature);
    }
}
