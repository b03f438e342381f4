using System.Security.Cryptography;

namespace TrustLaunch.Jose;

/// <summary>The JWS signature algorithms TrustLaunch uses (RFC 7518 §3): ES256 (P-256, r||s), RS256, PS256.</summary>
public static class JwsSignature
{
    /// <summary>Signs with <paramref name="key"/>; an EC key always signs ES256.</summary>
    public static byte[] Sign(AsymmetricAlgorithm key, string algorithm, ReadOnlySpan<byte> data) => (key, algorithm) switch
    {
        (ECDsa ec, _) => ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        (RSA rsa, JwsAlgorithms.PS256) => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        (RSA rsa, _) => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException($"key type {key.GetType().Name} cannot sign JWS"),
    };

    /// <summary>True when <paramref name="signature"/> is a valid <paramref name="algorithm"/> signature by
    /// <paramref name="key"/>; false for any algorithm the key does not do, or a wrong signature.</summary>
    public static bool Verify(AsymmetricAlgorithm key, string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => (key, algorithm) switch
    {
        (ECDsa ec, JwsAlgorithms.ES256) => JwkCurves.Name(ec.ExportParameters(false).Curve) == JwkCurves.P256 && signature.Length == 64
            && ec.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        (RSA rsa, JwsAlgorithms.RS256) => rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        (RSA rsa, JwsAlgorithms.PS256) => rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        _ => false,
    };
}
