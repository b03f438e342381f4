using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Hsm;

/// <summary>Public keys as SPKI PEM or as a JWK (RFC 7517, members in RFC 7638 order plus <c>kid</c>).</summary>
public static class PublicKeyExport
{
    public static string ToPem(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    public static string ToJwk(AsymmetricAlgorithm key)
    {
        var kid = PemKeys.JwkThumbprint(key);
        var sb = new StringBuilder("{");
        switch (key)
        {
            case RSA rsa:
                var r = rsa.ExportParameters(false);
                sb.Append($"\"e\":\"{B64(r.Exponent!)}\",\"kty\":\"RSA\",\"n\":\"{B64(r.Modulus!)}\"");
                break;
            case ECDsa ec:
                var p = ec.ExportParameters(false);
                sb.Append($"\"crv\":\"{PemKeys.CurveName(p.Curve)}\",\"kty\":\"EC\",\"x\":\"{B64(p.Q.X!)}\",\"y\":\"{B64(p.Q.Y!)}\"");
                break;
            default:
                throw new ArgumentException($"{key.GetType().Name} is neither RSA nor EC", nameof(key));
        }
        sb.Append($",\"kid\":\"{kid}\"}}");
        return sb.ToString();
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
