using System.Security.Cryptography;
using TrustLaunch.Jose;

namespace TrustLaunch.Hsm;

/// <summary>Public keys as SPKI PEM or as a JWK (RFC 7517, members in RFC 7638 order plus <c>kid</c>).</summary>
public static class PublicKeyExport
{
    public static string ToPem(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    public static string ToJwk(AsymmetricAlgorithm key)
    {
        var jwk = Jwk.FromPublicKey(key);
        return (jwk with { KeyId = jwk.Thumbprint() }).ToJson();
    }
}
