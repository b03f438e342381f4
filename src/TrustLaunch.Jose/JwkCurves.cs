using System.Security.Cryptography;

namespace TrustLaunch.Jose;

/// <summary>The JOSE names of the NIST curves (RFC 7518 §6.2.1.1) and their coordinate sizes.</summary>
public static class JwkCurves
{
    public const string P256 = "P-256";
    public const string P384 = "P-384";
    public const string P521 = "P-521";

    /// <summary>The JOSE name of a named curve.</summary>
    /// <exception cref="NotSupportedException">Not P-256, P-384 or P-521.</exception>
    public static string Name(ECCurve curve) => curve.Oid.Value switch
    {
        "1.2.840.10045.3.1.7" => P256,
        "1.3.132.0.34" => P384,
        "1.3.132.0.35" => P521,
        _ => curve.Oid.FriendlyName switch
        {
            "nistP256" or "ECDSA_P256" => P256,
            "nistP384" or "ECDSA_P384" => P384,
            "nistP521" or "ECDSA_P521" => P521,
            var name => throw new NotSupportedException($"EC curve '{name ?? curve.Oid.Value}' is not P-256, P-384 or P-521"),
        },
    };

    /// <summary>The named curve for a JOSE curve name.</summary>
    /// <exception cref="NotSupportedException">Not P-256, P-384 or P-521.</exception>
    public static ECCurve FromName(string name) => name switch
    {
        P256 => ECCurve.NamedCurves.nistP256,
        P384 => ECCurve.NamedCurves.nistP384,
        P521 => ECCurve.NamedCurves.nistP521,
        _ => throw new NotSupportedException($"EC curve '{name}' is not P-256, P-384 or P-521"),
    };

    /// <summary>Bytes of one coordinate (and of the private scalar) on the named curve.</summary>
    public static int CoordinateSize(string name) => name switch
    {
        P256 => 32,
        P384 => 48,
        P521 => 66,
        _ => throw new NotSupportedException($"EC curve '{name}' is not P-256, P-384 or P-521"),
    };
}
