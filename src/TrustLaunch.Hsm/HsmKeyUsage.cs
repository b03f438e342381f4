namespace TrustLaunch.Hsm;

/// <summary>
/// The one use a key is made for, fixed when it is generated or imported: a key that both wraps and decrypts lets
/// C_Decrypt turn a wrapped key into plaintext, one that signs and decrypts lets a decryption forge a signature.
/// </summary>
public enum HsmKeyUsage
{
    /// <summary>Sign and verify (RSA, EC).</summary>
    Sign,

    /// <summary>Encrypt and decrypt data (AES, RSA).</summary>
    Encrypt,

    /// <summary>Wrap and unwrap keys (AES, RSA).</summary>
    Wrap,
}

/// <summary>The PKCS#11 functions a key's attributes (CKA_SIGN, CKA_VERIFY, …) allow.</summary>
[Flags]
public enum HsmKeyFunctions
{
    None = 0,
    Sign = 1,
    Verify = 2,
    Encrypt = 4,
    Decrypt = 8,
    Wrap = 16,
    Unwrap = 32,
}

public static class HsmKeyUsages
{
    public const string Names = "sign, encrypt or wrap";

    public static HsmKeyUsage Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "sign" => HsmKeyUsage.Sign,
        "encrypt" => HsmKeyUsage.Encrypt,
        "wrap" => HsmKeyUsage.Wrap,
        _ => throw new FormatException($"key usage '{text}' is not one of {Names}"),
    };

    public static string Name(HsmKeyUsage usage) => usage switch
    {
        HsmKeyUsage.Sign => "sign",
        HsmKeyUsage.Encrypt => "encrypt",
        _ => "wrap",
    };

    /// <summary>The usage of a key given none: RSA and EC keys sign, AES keys wrap.</summary>
    public static HsmKeyUsage Default(HsmKeyKind kind) => kind == HsmKeyKind.Aes ? HsmKeyUsage.Wrap : HsmKeyUsage.Sign;

    /// <summary>The usage asked for, or the kind's default; a usage the kind cannot have is an error.</summary>
    public static HsmKeyUsage Resolve(HsmKeyKind kind, HsmKeyUsage? usage)
    {
        var resolved = usage ?? Default(kind);
        return (kind, resolved) switch
        {
            (HsmKeyKind.Ec, not HsmKeyUsage.Sign) => throw new FormatException($"an EC key can only sign, not {Name(resolved)}"),
            (HsmKeyKind.Aes, HsmKeyUsage.Sign) => throw new FormatException("an AES key can encrypt or wrap, not sign"),
            _ => resolved,
        };
    }
}
