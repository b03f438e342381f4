namespace TrustLaunch.Tpm;

/// <summary>TPM_ALG_ID values used by TrustLaunch (TPM 2.0 Part 2, table 9).</summary>
public enum TpmAlgId : ushort
{
    Error = 0x0000,
    Rsa = 0x0001,
    Sha1 = 0x0004,
    Hmac = 0x0005,
    Aes = 0x0006,
    KeyedHash = 0x0008,
    Xor = 0x000A,
    Sha256 = 0x000B,
    Sha384 = 0x000C,
    Sha512 = 0x000D,
    Null = 0x0010,
    Rsassa = 0x0014,
    Rsaes = 0x0015,
    Rsapss = 0x0016,
    Oaep = 0x0017,
    Ecdsa = 0x0018,
    Ecdh = 0x0019,
    Ecdaa = 0x001A,
    Sm2 = 0x001B,
    Ecschnorr = 0x001C,
    Ecc = 0x0023,
    SymCipher = 0x0025,
    Ctr = 0x0040,
    Ofb = 0x0041,
    Cbc = 0x0042,
    Cfb = 0x0043,
    Ecb = 0x0044,
}

/// <summary>TPM_ECC_CURVE values.</summary>
public enum TpmEccCurve : ushort
{
    None = 0x0000,
    NistP256 = 0x0003,
    NistP384 = 0x0004,
    NistP521 = 0x0005,
}

/// <summary>TPM_CC command codes.</summary>
public enum TpmCc : uint
{
    EvictControl = 0x0000_0120,
    PcrReset = 0x0000_013D,
    Certify = 0x0000_0148,
    ActivateCredential = 0x0000_0147,
    CreatePrimary = 0x0000_0131,
    Startup = 0x0000_0144,
    Shutdown = 0x0000_0145,
    NvRead = 0x0000_014E,
    PolicySecret = 0x0000_0151,
    Create = 0x0000_0153,
    Load = 0x0000_0157,
    Quote = 0x0000_0158,
    FlushContext = 0x0000_0165,
    LoadExternal = 0x0000_0167,
    NvReadPublic = 0x0000_0169,
    ReadPublic = 0x0000_0173,
    StartAuthSession = 0x0000_0176,
    GetCapability = 0x0000_017A,
    GetRandom = 0x0000_017B,
    PcrRead = 0x0000_017E,
    PcrExtend = 0x0000_0182,
    ReadClock = 0x0000_0181,
}

/// <summary>TPM_ST structure tags.</summary>
public enum TpmSt : ushort
{
    RspCommand = 0x00C4,
    Null = 0x8000,
    NoSessions = 0x8001,
    Sessions = 0x8002,
    AttestCertify = 0x8017,
    AttestQuote = 0x8018,
    AttestCreation = 0x801A,
    Creation = 0x8021,
    Verified = 0x8022,
    AuthSecret = 0x8023,
    HashCheck = 0x8024,
    AuthSigned = 0x8025,
}

/// <summary>TPM_SU startup types.</summary>
public enum TpmSu : ushort
{
    Clear = 0x0000,
    State = 0x0001,
}

/// <summary>TPM_SE session types.</summary>
public enum TpmSe : byte
{
    Hmac = 0x00,
    Policy = 0x01,
    Trial = 0x03,
}

/// <summary>TPM_CAP capability groups.</summary>
public enum TpmCap : uint
{
    Algs = 0x0000_0000,
    Handles = 0x0000_0001,
    Commands = 0x0000_0002,
    Pcrs = 0x0000_0005,
    TpmProperties = 0x0000_0006,
    EccCurves = 0x0000_0008,
}

/// <summary>Permanent and reserved handles, and the first handle of each range.</summary>
public static class TpmHandles
{
    public const uint Owner = 0x4000_0001;
    public const uint Null = 0x4000_0007;
    public const uint PasswordSession = 0x4000_0009;
    public const uint Lockout = 0x4000_000A;
    public const uint Endorsement = 0x4000_000B;
    public const uint Platform = 0x4000_000C;

    public const uint TransientFirst = 0x8000_0000;
    public const uint PersistentFirst = 0x8100_0000;
    public const uint NvIndexFirst = 0x0100_0000;

    /// <summary>TCG EK Credential Profile: RSA 2048 EK certificate (low range).</summary>
    public const uint EkCertificateRsa2048 = 0x01C0_0002;
    /// <summary>TCG EK Credential Profile: ECC NIST P-256 EK certificate (low range).</summary>
    public const uint EkCertificateEccP256 = 0x01C0_000A;
    /// <summary>TCG EK Credential Profile: ECC NIST P-384 EK certificate (high range; what swtpm_setup writes).</summary>
    public const uint EkCertificateEccP384 = 0x01C0_0016;

    public static bool IsPersistent(uint handle) => handle >> 24 == 0x81;
    public static bool IsTransient(uint handle) => handle >> 24 == 0x80;
}

/// <summary>TPMA_OBJECT bits.</summary>
[Flags]
public enum TpmaObject : uint
{
    None = 0,
    FixedTpm = 0x0000_0002,
    StClear = 0x0000_0004,
    FixedParent = 0x0000_0010,
    SensitiveDataOrigin = 0x0000_0020,
    UserWithAuth = 0x0000_0040,
    AdminWithPolicy = 0x0000_0080,
    NoDa = 0x0000_0400,
    EncryptedDuplication = 0x0000_0800,
    Restricted = 0x0001_0000,
    Decrypt = 0x0002_0000,
    Sign = 0x0004_0000,
}
