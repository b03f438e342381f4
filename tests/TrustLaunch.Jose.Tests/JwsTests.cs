using System.Buffers.Text;
using System.Security.Cryptography;

namespace TrustLaunch.Jose.Tests;

public sealed class JwsTests
{
    // RFC 7515 Appendix A.3 (ES256).
    private const string A3 = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    private static ECDsa A3Key() => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint
        {
            X = Base64Url.DecodeFromChars("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
            Y = Base64Url.DecodeFromChars("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"),
        },
    });

    [Fact]
    public void ParseAndVerify_Rfc7515AppendixA3_Verifies()
    {
        using var key = A3Key();
        var parts = Jws.Parse(A3);
        Assert.Equal(("ES256", null, null), (parts.Algorithm, parts.KeyId, parts.Type));
        Assert.True(JwsSignature.Verify(key, parts.Algorithm, parts.SigningInput, parts.Signature));
        Assert.False(JwsSignature.Verify(key, "RS256", parts.SigningInput, parts.Signature));
        parts.Signature[10] ^= 1;
        Assert.False(JwsSignature.Verify(key, parts.Algorithm, parts.SigningInput, parts.Signature));
    }

    [Fact]
    public void SignCompact_HeaderIsAlgKidTyp_InThatOrder()
    {
        using var signer = new TestSigner();
        var jws = Jws.SignCompact("{}"u8, signer, "golden+jws");
        var header = System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(jws.Split('.')[0]));
        Assert.Equal($"{{\"alg\":\"ES256\",\"kid\":\"{signer.KeyId}\",\"typ\":\"golden\\u002Bjws\"}}", header);
        var parts = Jws.Parse(jws);
        Assert.True(signer.Verify(parts.Algorithm, parts.SigningInput, parts.Signature));
    }

    [Theory]
    [InlineData("a.b", "compact JWS has 2 parts, expected 3")]
    [InlineData("!!.b.c", "compact JWS part is not base64url")]
    [InlineData("WyJ4Il0.e30.c2ln", "JWS header is not a JSON object")]
    [InlineData("eyJ0eXAiOiJKV1QifQ.e30.c2ln", "JWS header has no string 'alg'")]
    [InlineData("eyJhbGciOiJFUzI1NiIsImNyaXQiOlsiYiJdfQ.e30.c2ln", "JWS header has 'crit' extensions, none are understood")]
    public void Parse_Malformed_RefusedWithReason(string compact, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => Jws.Parse(compact)).Message);
    }
}

/// <summary>A P-256 signer and verifier for tests.</summary>
internal sealed class TestSigner : IPayloadSigner, IPayloadVerifier, IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestSigner() => KeyId = Jwk.ThumbprintOf(_key);

    public string Algorithm => JwsAlgorithms.ES256;
    public string KeyId { get; }
    public byte[] Sign(ReadOnlySpan<byte> data) => JwsSignature.Sign(_key, Algorithm, data);
    public bool Verify(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => JwsSignature.Verify(_key, algorithm, data, signature);
    public void Dispose() => _key.Dispose();
}
