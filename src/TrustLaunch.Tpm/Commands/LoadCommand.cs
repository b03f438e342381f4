using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_Load: a key's private and public parts under its parent; answers the handle and name.</summary>
public sealed class LoadCommand(uint parent, CreatedKey key) : TpmCommand<LoadedObject>
{
    public override TpmCc Code => TpmCc.Load;
    public override IReadOnlyList<uint> Handles => [parent];
    public override int ResponseHandleCount => 1;

    public override void WriteParameters(TpmWriter w)
    {
        w.WriteSized(key.Private);
        w.WriteSized(key.Public.Write);
    }

    public override LoadedObject ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) =>
        new(handles[0], key.Public, CreationCodec.ReadName(ref r, "name"));
}
