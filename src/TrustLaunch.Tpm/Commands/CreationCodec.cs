using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Commands;

/// <summary>The parameter parts TPM2_CreatePrimary and TPM2_Create share.</summary>
internal static class CreationCodec
{
    /// <summary>inSensitive (empty userAuth and data), inPublic, empty outsideInfo, empty creationPCR.</summary>
    public static void WriteCreateParameters(TpmWriter w, TpmPublic template, ReadOnlySpan<byte> userAuth)
    {
        var sensitive = new TpmWriter().WriteSized(userAuth).WriteSized([]);
        w.WriteSized(sensitive.WrittenSpan);
        w.WriteSized(template.Write);
        w.WriteSized([]);
        w.WriteUInt32(0);
    }

    /// <summary>creationData, creationHash and creationTicket: read past; TrustLaunch does not certify creation.</summary>
    public static void SkipCreationOutputs(ref TpmReader r)
    {
        r.ReadSized("creationData", 4096);
        r.ReadSized("creationHash", TpmHash.MaxDigestSize);
        r.ReadUInt16("creationTicket.tag");
        r.ReadUInt32("creationTicket.hierarchy");
        r.ReadSized("creationTicket.digest", TpmHash.MaxDigestSize);
    }

    public static byte[] ReadName(ref TpmReader r, string field) => r.ReadSized(field, 2 + TpmHash.MaxDigestSize).ToArray();
}
