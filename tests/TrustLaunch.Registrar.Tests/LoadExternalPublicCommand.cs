using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Registrar.Tests;

/// <summary>TPM2_LoadExternal of a public area only (empty inPrivate) into the null hierarchy: what an attacker with
/// access to the TPM can load for a key whose private part lives in software.</summary>
public sealed class LoadExternalPublicCommand(TpmPublic publicArea) : TpmCommand<LoadedObject>
{
    public override TpmCc Code => TpmCc.LoadExternal;
    public override int ResponseHandleCount => 1;

    public override void WriteParameters(TpmWriter w)
    {
        w.WriteUInt16(0);
        w.WriteSized(publicArea.Write);
        w.WriteUInt32(TpmHandles.Null);
    }

    public override LoadedObject ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        new(handles[0], publicArea, r.ReadSized("name", 2 + TpmHash.MaxDigestSize).ToArray());
}
