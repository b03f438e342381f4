namespace TrustLaunch.Tpm.Structures;

/// <summary>
/// Public-area templates: the TCG EK Credential Profile default EKs (templates L-1 and L-2), the TCG provisioning
/// guidance SRK, and attestation keys as <c>tpm2_createak</c> makes them.
/// </summary>
public static class TpmTemplates
{
    /// <summary>PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the authPolicy of the default EKs.</summary>
    public static ReadOnlySpan<byte> EkPolicy =>
    [
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
        0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
    ];

    private const TpmaObject EkAttributes = TpmaObject.FixedTpm | TpmaObject.FixedParent |
        TpmaObject.SensitiveDataOrigin | TpmaObject.AdminWithPolicy | TpmaObject.Restricted | TpmaObject.Decrypt;

    private const TpmaObject SrkAttributes = TpmaObject.FixedTpm | TpmaObject.FixedParent |
        TpmaObject.SensitiveDataOrigin | TpmaObject.UserWithAuth | TpmaObject.NoDa | TpmaObject.Restricted |
        TpmaObject.Decrypt;

    /// <summary>fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign = 0x00050072.</summary>
    public const TpmaObject AkAttributes = TpmaObject.FixedTpm | TpmaObject.FixedParent |
        TpmaObject.SensitiveDataOrigin | TpmaObject.UserWithAuth | TpmaObject.Restricted | TpmaObject.Sign;

    /// <summary>Template L-1: RSA 2048, AES-128-CFB, 256 zero bytes of unique.</summary>
    public static TpmPublic EkRsa2048() => new(TpmAlgId.Rsa, TpmAlgId.Sha256, EkAttributes, EkPolicy.ToArray(),
        TpmSymmetric.Aes128Cfb, TpmScheme.None, Rsa: new TpmRsaKey(2048, 0, new byte[256]));

    /// <summary>Template L-2: ECC NIST P-256, AES-128-CFB, 32 zero bytes each for x and y.</summary>
    public static TpmPublic EkEccP256() => new(TpmAlgId.Ecc, TpmAlgId.Sha256, EkAttributes, EkPolicy.ToArray(),
        TpmSymmetric.Aes128Cfb, TpmScheme.None, Ecc: new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, new byte[32], new byte[32]));

    /// <summary>The owner-hierarchy storage root key: ECC P-256, restricted decrypt, AES-128-CFB, noDA.</summary>
    public static TpmPublic SrkEccP256() => new(TpmAlgId.Ecc, TpmAlgId.Sha256, SrkAttributes, [],
        TpmSymmetric.Aes128Cfb, TpmScheme.None, Ecc: new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, new byte[32], new byte[32]));

    /// <summary>A restricted signing key: RSA 2048 with RSASSA-SHA256.</summary>
    public static TpmPublic AkRsa2048() => new(TpmAlgId.Rsa, TpmAlgId.Sha256, AkAttributes, [],
        TpmSymmetric.None, new TpmScheme(TpmAlgId.Rsassa, TpmAlgId.Sha256), Rsa: new TpmRsaKey(2048, 0, []));

    /// <summary>A restricted signing key: ECC P-256 with ECDSA-SHA256.</summary>
    public static TpmPublic AkEccP256() => new(TpmAlgId.Ecc, TpmAlgId.Sha256, AkAttributes, [],
        TpmSymmetric.None, new TpmScheme(TpmAlgId.Ecdsa, TpmAlgId.Sha256),
        Ecc: new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, [], []));
}
