namespace TrustLaunch.Hsm;

/// <summary>A key object found on a token: its handle (valid for every session of this process) and the attributes
/// that decide which mechanisms fit it.</summary>
public sealed record HsmKey(ulong Handle, HsmObjectType Type, HsmKeyKind Kind, string Label, byte[] Id, int Bits)
{
    /// <summary>Bytes per ECDSA coordinate for EC keys.</summary>
    public int FieldSize => (Bits + 7) / 8;

    public string Describe() => $"{Pkcs11Uri.TypeName(Type)} key '{Label}' ({KindName})";

    public string KindName => Kind switch
    {
        HsmKeyKind.Rsa => $"RSA-{Bits}",
        HsmKeyKind.Ec => $"EC P-{Bits}",
        _ => $"AES-{Bits}",
    };
}
