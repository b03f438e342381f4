using System.Security.Cryptography;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>
/// JSON Web Tokens (RFC 7519) as compact JWS with <c>typ</c> <c>JWT</c>. <see cref="Verify"/> checks, in order:
/// structure, <c>typ</c>, the key id, the signature, then <c>exp</c> and <c>iat</c> against the clock.
/// </summary>
public static class Jwt
{
    public const string Type = "JWT";

    /// <summary>Clock skew tolerated for <c>iat</c> in the future.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromSeconds(30);

    /// <summary>Signs the claims (a JSON object, written by the caller) as a compact JWT.</summary>
    public static string Sign(ReadOnlySpan<byte> claims, IPayloadSigner signer) => Jws.SignCompact(claims, signer, Type);

    /// <summary>The verified token; its claims are <see cref="JwsParts.Payload"/>.</summary>
    /// <exception cref="FormatException">Not a compact JWT with a JSON object of claims holding numeric
    /// <c>exp</c> and <c>iat</c>.</exception>
    /// <exception cref="CryptographicException">Signed by another key, a bad signature, expired, or issued in the future.</exception>
    public static JwsParts Verify(string token, IPayloadVerifier verifier, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        var parts = Jws.Parse(token);
        if (parts.Type != Type)
            throw new FormatException($"token 'typ' is '{parts.Type}', expected '{Type}'");
        if (parts.KeyId != verifier.KeyId)
            throw new CryptographicException($"token is signed by key '{parts.KeyId}', not by '{verifier.KeyId}'");
        if (!verifier.Verify(parts.Algorithm, parts.SigningInput, parts.Signature))
            throw new CryptographicException($"token signature does not verify with key '{verifier.KeyId}'");
        var (issuedAt, expires) = ReadTimes(parts.Payload);
        var nowSeconds = now.ToUnixTimeSeconds();
        if (nowSeconds >= expires)
            throw new CryptographicException($"token expired at {DateTimeOffset.FromUnixTimeSeconds(expires):O}");
        if (issuedAt > nowSeconds + (long)AllowedSkew.TotalSeconds)
            throw new CryptographicException($"token is issued in the future ({DateTimeOffset.FromUnixTimeSeconds(issuedAt):O})");
        return parts;
    }

    private static (long IssuedAt, long Expires) ReadTimes(byte[] claims)
    {
        try
        {
            using var doc = JsonDocument.Parse(claims, new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException("token claims are not a JSON object");
            return (NumericDate(doc.RootElement, "iat"), NumericDate(doc.RootElement, "exp"));
        }
        catch (JsonException e)
        {
            throw new FormatException($"token claims are not JSON: {e.Message}");
        }
    }

    private static long NumericDate(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var seconds)
            ? seconds
            : throw new FormatException($"token claim '{name}' is missing or not an integer NumericDate");
}
