namespace TrustLaunch.Jose;

/// <summary>
/// Signs bytes with a publisher key. Implementations hold (or reach, for PKCS#11) the private key; callers only see
/// the JWS algorithm and the key id, never key material.
/// </summary>
public interface IPayloadSigner
{
    /// <summary>The JWS algorithm: <c>ES256</c>, <c>RS256</c> or <c>PS256</c>.</summary>
    string Algorithm { get; }

    /// <summary>RFC 7638 JWK thumbprint (base64url SHA-256) of the public key.</summary>
    string KeyId { get; }

    /// <summary>The JWS signature of <paramref name="data"/> (for ES256 the 64-byte r||s form).</summary>
    byte[] Sign(ReadOnlySpan<byte> data);
}

/// <summary>Checks signatures made by one publisher key.</summary>
public interface IPayloadVerifier
{
    /// <summary>RFC 7638 JWK thumbprint (base64url SHA-256) of the public key.</summary>
    string KeyId { get; }

    /// <summary>True when <paramref name="signature"/> is a valid <paramref name="algorithm"/> signature of
    /// <paramref name="data"/> by this key; false for any other algorithm or a wrong signature.</summary>
    bool Verify(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature);
}

/// <summary>The JWS algorithms TrustLaunch signs with.</summary>
public static class JwsAlgorithms
{
    public const string ES256 = "ES256";
    public const string RS256 = "RS256";
    public const string PS256 = "PS256";
}
