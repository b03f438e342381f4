using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>
/// A public JSON Web Key (RFC 7517): EC on P-256/P-384/P-521 (<c>crv</c>, <c>x</c>, <c>y</c>) or RSA (<c>n</c>,
/// <c>e</c>), with optional <c>alg</c> and <c>kid</c>. Parsing is strict: private members, unknown key types, wrong
/// coordinate sizes, points off the curve and RSA moduli under 2048 bits are refused.
/// </summary>
public sealed record Jwk
{
    public const string Ec = "EC";
    public const string Rsa = "RSA";
    private const int MinRsaBits = 2048;
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    private Jwk(string keyType) => KeyType = keyType;

    /// <summary><c>kty</c>: <see cref="Ec"/> or <see cref="Rsa"/>.</summary>
    public string KeyType { get; }
    public string? Curve { get; private init; }
    public byte[]? X { get; private init; }
    public byte[]? Y { get; private init; }
    public byte[]? Modulus { get; private init; }
    public byte[]? Exponent { get; private init; }
    public string? Algorithm { get; init; }
    public string? KeyId { get; init; }

    /// <summary>The public part of an RSA, ECDsa or ECDiffieHellman key.</summary>
    public static Jwk FromPublicKey(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => FromRsa(rsa.ExportParameters(false)),
        ECDsa ec => FromEc(ec.ExportParameters(false)),
        ECDiffieHellman ecdh => FromEc(ecdh.ExportParameters(false)),
        _ => throw new NotSupportedException($"key type {key.GetType().Name} is neither RSA nor EC"),
    };

    public static Jwk FromEc(ECParameters p) => new(Ec) { Curve = JwkCurves.Name(p.Curve), X = p.Q.X, Y = p.Q.Y };

    public static Jwk FromRsa(RSAParameters p) => new(Rsa) { Modulus = p.Modulus, Exponent = p.Exponent };

    /// <summary>The RFC 7638 thumbprint of a key's public part (what TrustLaunch uses as key id).</summary>
    public static string ThumbprintOf(AsymmetricAlgorithm key) => FromPublicKey(key).Thumbprint();

    /// <exception cref="FormatException">Not a JSON object or not a public key this type accepts (the reason named).</exception>
    public static Jwk Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false });
            return Parse(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new FormatException($"JWK is not JSON: {e.Message}");
        }
    }

    /// <exception cref="FormatException">Not a public key this type accepts (the reason named).</exception>
    public static Jwk Parse(JsonElement jwk)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
            throw new FormatException("JWK is not a JSON object");
        foreach (var name in PrivateMembers)
        {
            if (jwk.TryGetProperty(name, out _))
                throw new FormatException($"JWK holds the private member '{name}': only public keys are accepted");
        }
        var alg = OptionalString(jwk, "alg");
        var kid = OptionalString(jwk, "kid");
        switch (RequiredString(jwk, "kty"))
        {
            case Ec:
                var crv = RequiredString(jwk, "crv");
                var curve = CurveFor(crv);
                var size = JwkCurves.CoordinateSize(crv);
                var x = Coordinate(jwk, "x", size);
                var y = Coordinate(jwk, "y", size);
                var parameters = new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } };
                try
                {
                    using var check = ECDiffieHellman.Create(parameters);
                }
                catch (CryptographicException)
                {
                    throw new FormatException($"JWK point is not on curve {crv}");
                }
                return new Jwk(Ec) { Curve = crv, X = x, Y = y, Algorithm = alg, KeyId = kid };
            case Rsa:
                var n = Base64UrlText.Decode(RequiredString(jwk, "n"), "JWK member 'n' is not base64url");
                var e = Base64UrlText.Decode(RequiredString(jwk, "e"), "JWK member 'e' is not base64url");
                if (n.Length == 0 || n[0] == 0)
                    throw new FormatException("JWK member 'n' has leading zero octets or is empty");
                if (n.Length * 8 < MinRsaBits)
                    throw new FormatException($"JWK RSA modulus of {n.Length * 8} bits is below {MinRsaBits}");
                if (e.Length == 0 || e[0] == 0 || (e[^1] & 1) == 0)
                    throw new FormatException("JWK member 'e' is not a valid RSA public exponent");
                return new Jwk(Rsa) { Modulus = n, Exponent = e, Algorithm = alg, KeyId = kid };
            case var other:
                throw new FormatException($"JWK key type '{other}' is not EC or RSA");
        }
    }

    /// <summary>RFC 7638: base64url(SHA-256(the required members, sorted, no whitespace)).</summary>
    public string Thumbprint() => Base64UrlText.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(ThumbprintInput())));

    /// <summary>The required members in RFC 7638 (lexicographic) order, then <c>alg</c> and <c>kid</c> when set.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
            WriteTo(w);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the key as a JSON object (see <see cref="ToJson"/>).</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (KeyType == Ec)
        {
            w.WriteString("crv", Curve);
            w.WriteString("kty", Ec);
            w.WriteString("x", Base64UrlText.Encode(X));
            w.WriteString("y", Base64UrlText.Encode(Y));
        }
        else
        {
            w.WriteString("e", Base64UrlText.Encode(Exponent));
            w.WriteString("kty", Rsa);
            w.WriteString("n", Base64UrlText.Encode(Modulus));
        }
        if (Algorithm is not null)
            w.WriteString("alg", Algorithm);
        if (KeyId is not null)
            w.WriteString("kid", KeyId);
        w.WriteEndObject();
    }

    /// <summary>The EC public key parameters; only for <see cref="Ec"/> keys.</summary>
    public ECParameters ToEcParameters() => KeyType == Ec
        ? new ECParameters { Curve = JwkCurves.FromName(Curve!), Q = new ECPoint { X = X, Y = Y } }
        : throw new InvalidOperationException($"a {KeyType} JWK has no EC parameters");

    /// <summary>A new RSA public key; only for <see cref="Rsa"/> keys.</summary>
    public RSA ToRsa() => KeyType == Rsa
        ? RSA.Create(new RSAParameters { Modulus = Modulus, Exponent = Exponent })
        : throw new InvalidOperationException($"a {KeyType} JWK is not an RSA key");

    private string ThumbprintInput() => KeyType == Ec
        ? $$"""{"crv":"{{Curve}}","kty":"EC","x":"{{Base64UrlText.Encode(X)}}","y":"{{Base64UrlText.Encode(Y)}}"}"""
        : $$"""{"e":"{{Base64UrlText.Encode(Exponent)}}","kty":"RSA","n":"{{Base64UrlText.Encode(Modulus)}}"}""";

    private static ECCurve CurveFor(string crv)
    {
        try
        {
            return JwkCurves.FromName(crv);
        }
        catch (NotSupportedException e)
        {
            throw new FormatException($"JWK {e.Message}");
        }
    }

    private static byte[] Coordinate(JsonElement jwk, string name, int size)
    {
        var value = Base64UrlText.Decode(RequiredString(jwk, name), $"JWK member '{name}' is not base64url");
        return value.Length == size ? value : throw new FormatException($"JWK member '{name}' is {value.Length} bytes, the curve needs {size}");
    }

    private static string RequiredString(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"JWK member '{name}' is missing or not a string");

    private static string? OptionalString(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) ? null : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"JWK member '{name}' is not a string");
}
