namespace TrustLaunch.Hsm;

public enum HsmKeyKind
{
    Rsa,
    Ec,
    Aes,
}

/// <summary>A key to generate: <c>rsa:2048|3072|4096</c>, <c>ec:p256|p384</c> (or <c>P-256</c>), <c>aes:128|192|256</c>.</summary>
public sealed record HsmKeySpec(HsmKeyKind Kind, int Bits)
{
    public static HsmKeySpec Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        return t switch
        {
            "rsa:2048" or "rsa2048" => new(HsmKeyKind.Rsa, 2048),
            "rsa:3072" or "rsa3072" => new(HsmKeyKind.Rsa, 3072),
            "rsa:4096" or "rsa4096" => new(HsmKeyKind.Rsa, 4096),
            "ec:p256" or "ec:p-256" or "p256" or "p-256" or "ec:prime256v1" or "ec:secp256r1" => new(HsmKeyKind.Ec, 256),
            "ec:p384" or "ec:p-384" or "p384" or "p-384" or "ec:secp384r1" => new(HsmKeyKind.Ec, 384),
            "aes:128" or "aes128" => new(HsmKeyKind.Aes, 128),
            "aes:192" or "aes192" => new(HsmKeyKind.Aes, 192),
            "aes:256" or "aes256" => new(HsmKeyKind.Aes, 256),
            _ => throw new FormatException($"key type '{text}' is not one of rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384, aes:128, aes:192, aes:256"),
        };
    }

    public override string ToString() => Kind switch
    {
        HsmKeyKind.Rsa => $"rsa:{Bits}",
        HsmKeyKind.Ec => $"ec:p{Bits}",
        _ => $"aes:{Bits}",
    };

    /// <summary>DER of the named-curve OID, the CKA_EC_PARAMS value.</summary>
    internal static byte[] CurveParams(int bits) => bits switch
    {
        256 => [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
        384 => [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
        _ => throw new ArgumentOutOfRangeException(nameof(bits)),
    };
}

/// <summary>Attributes of a new key; private and secret keys are sensitive and non-extractable unless asked.</summary>
public sealed record HsmKeyOptions
{
    public required string Label { get; init; }
    public byte[]? Id { get; init; }
    public bool Extractable { get; init; }
    public bool Sensitive { get; init; } = true;

    /// <summary>What the key is for; null: <see cref="HsmKeyUsages.Default"/> of its kind.</summary>
    public HsmKeyUsage? Usage { get; init; }
}

/// <summary>One object on a token, as <c>hsm keys</c> lists it.</summary>
public sealed record HsmObjectInfo(
    string Uri, string Label, string Id, string Class, string KeyType, int? Bits,
    bool? Sensitive, bool? Extractable, IReadOnlyList<string> Usage);
