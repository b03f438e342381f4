using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>TPM2_ReadPublic's answer.</summary>
public sealed record ReadPublicResponse(TpmPublic Public, byte[] Name, byte[] QualifiedName);

/// <summary>TPM2_ReadPublic.</summary>
public sealed class ReadPublicCommand(uint handle) : TpmCommand<ReadPublicResponse>
{
    public override TpmCc Code => TpmCc.ReadPublic;
    public override IReadOnlyList<uint> Handles => [handle];

    public override ReadPublicResponse ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r)
    {
        var outPublic = TpmPublic.ReadTpm2b(ref r);
        var name = CreationCodec.ReadName(ref r, "name");
        var qualified = CreationCodec.ReadName(ref r, "qualifiedName");
        return new ReadPublicResponse(outPublic, name, qualified);
    }
}
