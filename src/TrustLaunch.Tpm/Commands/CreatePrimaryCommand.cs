using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>A loaded object: its transient handle, public area and name.</summary>
public sealed record LoadedObject(uint Handle, TpmPublic Public, byte[] Name);

/// <summary>TPM2_CreatePrimary in a hierarchy (owner, endorsement, platform, null).</summary>
public sealed class CreatePrimaryCommand(uint hierarchy, TpmPublic template) : TpmCommand<LoadedObject>
{
    public override TpmCc Code => TpmCc.CreatePrimary;
    public override IReadOnlyList<uint> Handles => [hierarchy];
    public override int ResponseHandleCount => 1;

    public override void WriteParameters(TpmWriter w) => CreationCodec.WriteCreateParameters(w, template, []);

    public override LoadedObject ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var outPublic = TpmPublic.ReadTpm2b(ref r);
        CreationCodec.SkipCreationOutputs(ref r);
        var name = CreationCodec.ReadName(ref r, "name");
        return new LoadedObject(handles[0], outPublic, name);
    }
}
