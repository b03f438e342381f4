using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>A started session: its handle and the TPM's nonce.</summary>
public sealed record StartedSession(uint Handle, byte[] NonceTpm);

/// <summary>TPM2_StartAuthSession: unbound, unsalted, no parameter encryption, SHA-256.</summary>
public sealed class StartAuthSessionCommand(TpmSe type, byte[] nonceCaller) : TpmCommand<StartedSession>
{
    public override TpmCc Code => TpmCc.StartAuthSession;
    public override IReadOnlyList<uint> Handles => [TpmHandles.Null, TpmHandles.Null];
    public override int ResponseHandleCount => 1;

    public override void WriteParameters(TpmWriter w)
    {
        w.WriteSized(nonceCaller).WriteSized([]).WriteByte((byte)type);
        w.WriteUInt16((ushort)TpmAlgId.Null);
        w.WriteUInt16((ushort)TpmAlgId.Sha256);
    }

    public override StartedSession ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        new(handles[0], r.ReadSized("nonceTPM", TpmHash.MaxDigestSize).ToArray());
}
