using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Jose.Tests;

public sealed class JwkTests
{
    private const string Rfc7638Modulus = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    [Fact]
    public void ThumbprintOf_Rfc7638Example_MatchesPublishedValue()
    {
        using var rsa = RSA.Create(new RSAParameters { Modulus = Base64Url.DecodeFromChars(Rfc7638Modulus), Exponent = [1, 0, 1] });
        Assert.Equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", Jwk.ThumbprintOf(rsa));
    }

    [Fact]
    public void Parse_Rfc7638ExampleJwk_SameThumbprintWhateverTheMemberOrder()
    {
        var jwk = Jwk.Parse(Encoding.UTF8.GetBytes($$"""{"kty":"RSA","n":"{{Rfc7638Modulus}}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"""));
        Assert.Equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", jwk.Thumbprint());
        Assert.Equal(("RS256", "2011-04-29"), (jwk.Algorithm, jwk.KeyId));
    }

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-384")]
    public void FromPublicKey_EcKey_ExportsParsesAndMatchesThumbprintByHand(string curve)
    {
        using var ec = ECDsa.Create(JwkCurves.FromName(curve));
        var q = ec.ExportParameters(false).Q;
        var jwk = Jwk.FromPublicKey(ec);
        var json = jwk.ToJson();
        var members = $$"""{"crv":"{{curve}}","kty":"EC","x":"{{Base64Url.EncodeToString(q.X)}}","y":"{{Base64Url.EncodeToString(q.Y)}}"}""";
        Assert.Equal(members, json);
        Assert.Equal(Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(members))), jwk.Thumbprint());
        var parsed = Jwk.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(jwk.Thumbprint(), parsed.Thumbprint());
        Assert.Equal(q.X, parsed.ToEcParameters().Q.X);
    }

    [Fact]
    public void ToJson_WithAlgAndKid_RequiredMembersFirst()
    {
        using var rsa = RSA.Create(2048);
        var jwk = Jwk.FromPublicKey(rsa) with { Algorithm = "RSA-OAEP-256", KeyId = "k1" };
        Assert.StartsWith("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"", jwk.ToJson());
        Assert.EndsWith("\",\"alg\":\"RSA-OAEP-256\",\"kid\":\"k1\"}", jwk.ToJson());
        using var back = Jwk.Parse(Encoding.UTF8.GetBytes(jwk.ToJson())).ToRsa();
        Assert.Equal(rsa.ExportParameters(false).Modulus, back.ExportParameters(false).Modulus);
    }

    public static TheoryData<string, string> Refusals()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = ec.ExportParameters(false).Q;
        var x = Base64Url.EncodeToString(q.X);
        var y = Base64Url.EncodeToString(q.Y);
        var offCurveY = Base64Url.EncodeToString(q.Y!.Select((b, i) => i == 31 ? (byte)(b ^ 1) : b).ToArray());
        return new TheoryData<string, string>
        {
            { "[]", "JWK is not a JSON object" },
            { "{\"kty\":\"oct\",\"k\":\"AAAA\"}", "JWK holds the private member 'k': only public keys are accepted" },
            { $$"""{"kty":"EC","crv":"P-256","x":"{{x}}","y":"{{y}}","d":"AAAA"}""", "JWK holds the private member 'd': only public keys are accepted" },
            { "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", "JWK key type 'OKP' is not EC or RSA" },
            { "{\"crv\":\"P-256\"}", "JWK member 'kty' is missing or not a string" },
            { $$"""{"kty":"EC","crv":"secp256k1","x":"{{x}}","y":"{{y}}"}""", "JWK EC curve 'secp256k1' is not P-256, P-384 or P-521" },
            { $$"""{"kty":"EC","crv":"P-384","x":"{{x}}","y":"{{y}}"}""", "JWK member 'x' is 32 bytes, the curve needs 48" },
            { $$"""{"kty":"EC","crv":"P-256","x":"{{x}}","y":"{{offCurveY}}"}""", "JWK point is not on curve P-256" },
            { $$"""{"kty":"EC","crv":"P-256","x":"{{x}}","y":"***"}""", "JWK member 'y' is not base64url" },
            { $$"""{"kty":"EC","crv":"P-256","x":"{{x}}","y":"{{y}}","kid":7}""", "JWK member 'kid' is not a string" },
            { "{\"kty\":\"RSA\",\"n\":\"" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(128).Select((b, i) => i == 0 ? (byte)0xC1 : b).ToArray()) + "\",\"e\":\"AQAB\"}", "JWK RSA modulus of 1024 bits is below 2048" },
            { "{\"kty\":\"RSA\",\"n\":\"" + Rfc7638Modulus + "\",\"e\":\"AQAA\"}", "JWK member 'e' is not a valid RSA public exponent" },
        };
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Parse_NotAnAcceptablePublicKey_RefusedWithReason(string json, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => Jwk.Parse(Encoding.UTF8.GetBytes(json))).Message);
    }

    [Fact]
    public void Parse_DuplicateMember_Refused()
    {
        var e = Assert.Throws<FormatException>(() => Jwk.Parse("{\"kty\":\"EC\",\"kty\":\"RSA\"}"u8));
        Assert.StartsWith("JWK is not JSON: ", e.Message);
    }
}
