using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>A key created under a parent: the parent-wrapped private blob (TPM2B_PRIVATE body) and the public area.</summary>
public sealed record CreatedKey(byte[] Private, TpmPublic Public);

/// <summary>TPM2_Create: an ordinary key under a loaded storage parent.</summary>
public sealed class CreateCommand(uint parent, TpmPublic template) : TpmCommand<CreatedKey>
{
    public override TpmCc Code => TpmCc.Create;
    public override IReadOnlyList<uint> Handles => [parent];

    public override void WriteParameters(TpmWriter w) => CreationCodec.WriteCreateParameters(w, template, []);

    public override CreatedKey ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var outPrivate = r.ReadSized("outPrivate", 4096).ToArray();
        var outPublic = TpmPublic.ReadTpm2b(ref r);
        CreationCodec.SkipCreationOutputs(ref r);
        return new CreatedKey(outPrivate, outPublic);
    }
}
