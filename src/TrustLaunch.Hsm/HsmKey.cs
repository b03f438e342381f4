namespace TrustLaunch.Hsm;

/// <summary>A key object found on a token: its handle (valid for every session of this process) and the attributes
/// that decide which mechanisms fit it and which functions its usage allows.</summary>
public sealed record HsmKey(ulong Handle, HsmObjectType Type, HsmKeyKind Kind, string Label, byte[] Id, int Bits, HsmKeyFunctions Functions)
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

    /// <summary>Refuses, before the module is asked, a function this key's usage does not allow.</summary>
    internal void Require(HsmKeyFunctions function, string pkcs11Function)
    {
        if ((Functions & function) != 0)
            return;
        var allowed = Functions == HsmKeyFunctions.None ? "nothing" : Functions.ToString().ToLowerInvariant().Replace(", ", "/", StringComparison.Ordinal);
        var usage = function switch
        {
            HsmKeyFunctions.Sign or HsmKeyFunctions.Verify => HsmKeyUsage.Sign,
            HsmKeyFunctions.Encrypt or HsmKeyFunctions.Decrypt => HsmKeyUsage.Encrypt,
            _ => HsmKeyUsage.Wrap,
        };
        throw new HsmException(pkcs11Function, "CKR_KEY_FUNCTION_NOT_PERMITTED",
            $"{Describe()} may not {function.ToString().ToLowerInvariant()}: its usage allows {allowed} only; use a key made with --usage {HsmKeyUsages.Name(usage)}");
    }
}
