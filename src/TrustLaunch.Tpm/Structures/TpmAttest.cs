using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

/// <summary>TPMS_CLOCK_INFO.</summary>
public sealed record TpmClockInfo(ulong Clock, uint ResetCount, uint RestartCount, bool Safe);

/// <summary>
/// TPMS_ATTEST for quotes (0x8018), certifications (0x8017) and creation (0x801A). The bytes parsed are kept in
/// <see cref="Raw"/>: signatures cover them exactly as they came.
/// </summary>
public sealed record TpmAttest(
    TpmSt Type,
    byte[] QualifiedSigner,
    byte[] ExtraData,
    TpmClockInfo ClockInfo,
    ulong FirmwareVersion,
    IReadOnlyList<PcrSelection> PcrSelections,
    byte[] PcrDigest,
    byte[] CertifiedName,
    byte[] CertifiedQualifiedName,
    byte[] Raw)
{
    public const uint Magic = 0xFF544347; // TPM_GENERATED_VALUE: "\xffTCG"
    public const int MaxSize = 2048;
    private const int MaxNameSize = 2 + TpmHash.MaxDigestSize;
    private const int MaxDataSize = 2 + TpmHash.MaxDigestSize;

    /// <summary>
    /// A quote's TPMS_ATTEST as a TPM builds it for TPM2_Quote (<see cref="Raw"/> holds the encoding): signer name,
    /// qualifying data (the nonce), clock info, firmware version, the PCR selection and the digest of its values.
    /// </summary>
    public static TpmAttest Quote(byte[] qualifiedSigner, byte[] extraData, TpmClockInfo clockInfo, ulong firmwareVersion,
        IReadOnlyList<PcrSelection> pcrSelections, byte[] pcrDigest)
    {
        var attest = new TpmAttest(TpmSt.AttestQuote, qualifiedSigner, extraData, clockInfo, firmwareVersion, pcrSelections, pcrDigest, [], [], []);
        return attest with { Raw = attest.ToBytes() };
    }

    /// <summary>Encodes the fields (not <see cref="Raw"/>) as TPMS_ATTEST: what <see cref="Parse"/> reads.</summary>
    public byte[] ToBytes()
    {
        var w = new TpmWriter();
        Write(w);
        return w.ToArray();
    }

    public void Write(TpmWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteUInt32(Magic).WriteUInt16((ushort)Type).WriteSized(QualifiedSigner).WriteSized(ExtraData)
            .WriteUInt64(ClockInfo.Clock).WriteUInt32(ClockInfo.ResetCount).WriteUInt32(ClockInfo.RestartCount)
            .WriteByte(ClockInfo.Safe ? (byte)1 : (byte)0).WriteUInt64(FirmwareVersion);
        switch (Type)
        {
            case TpmSt.AttestQuote:
                PcrSelection.WriteList(w, PcrSelections);
                w.WriteSized(PcrDigest);
                break;
            case TpmSt.AttestCertify:
                w.WriteSized(CertifiedName).WriteSized(CertifiedQualifiedName);
                break;
            case TpmSt.AttestCreation:
                w.WriteSized(CertifiedName).WriteSized(PcrDigest);
                break;
            default:
                throw new NotSupportedException($"TPMS_ATTEST type 0x{(ushort)Type:X4} is not quote, certify or creation");
        }
    }

    /// <summary>Parses a whole TPMS_ATTEST as <c>tpm2_quote -m</c> writes it.</summary>
    public static TpmAttest Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxSize)
            throw new TpmFormatException($"TPMS_ATTEST: {bytes.Length} bytes exceeds the maximum of {MaxSize}");
        var r = new TpmReader(bytes, "TPMS_ATTEST");
        var magic = r.ReadUInt32("magic");
        if (magic != Magic)
            r.Throw($"magic is 0x{magic:X8}, expected 0x{Magic:X8}");
        var type = (TpmSt)r.ReadUInt16("type");
        if (type is not (TpmSt.AttestQuote or TpmSt.AttestCertify or TpmSt.AttestCreation))
            r.Throw($"type 0x{(ushort)type:X4} is not quote (0x8018), certify (0x8017) or creation (0x801A)");
        var signer = r.ReadSized("qualifiedSigner", MaxNameSize).ToArray();
        var extra = r.ReadSized("extraData", MaxDataSize).ToArray();
        var clock = new TpmClockInfo(
            r.ReadUInt64("clockInfo.clock"),
            r.ReadUInt32("clockInfo.resetCount"),
            r.ReadUInt32("clockInfo.restartCount"),
            ReadYesNo(ref r, "clockInfo.safe"));
        var firmware = r.ReadUInt64("firmwareVersion");
        IReadOnlyList<PcrSelection> selections = [];
        byte[] pcrDigest = [], name = [], qualifiedName = [];
        switch (type)
        {
            case TpmSt.AttestQuote:
                selections = PcrSelection.ReadList(ref r);
                pcrDigest = r.ReadSized("attested.quote.pcrDigest", TpmHash.MaxDigestSize).ToArray();
                break;
            case TpmSt.AttestCertify:
                name = r.ReadSized("attested.certify.name", MaxNameSize).ToArray();
                qualifiedName = r.ReadSized("attested.certify.qualifiedName", MaxNameSize).ToArray();
                break;
            default:
                name = r.ReadSized("attested.creation.objectName", MaxNameSize).ToArray();
                pcrDigest = r.ReadSized("attested.creation.creationHash", TpmHash.MaxDigestSize).ToArray();
                break;
        }
        r.ExpectEnd();
        return new TpmAttest(type, signer, extra, clock, firmware, selections, pcrDigest, name, qualifiedName, bytes.ToArray());
    }

    private static bool ReadYesNo(ref TpmReader r, string field)
    {
        var b = r.ReadByte(field);
        if (b > 1)
            r.Throw($"{field} is {b}, expected 0 or 1");
        return b == 1;
    }
}
