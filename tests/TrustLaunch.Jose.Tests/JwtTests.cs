using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Jose.Tests;

public sealed class JwtTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static string Token(TestSigner signer, long iat, long exp) =>
        Jwt.Sign(Encoding.UTF8.GetBytes($$"""{"iat":{{iat}},"exp":{{exp}},"sub":"a"}"""), signer);

    [Fact]
    public void Verify_FreshTokenBySigner_ReturnsClaims()
    {
        using var signer = new TestSigner();
        var parts = Jwt.Verify(Token(signer, Now.ToUnixTimeSeconds(), Now.ToUnixTimeSeconds() + 60), signer, Now);
        Assert.Equal(("JWT", signer.KeyId), (parts.Type, parts.KeyId));
        Assert.Contains("\"sub\":\"a\"", Encoding.UTF8.GetString(parts.Payload));
    }

    [Fact]
    public void Verify_Expired_Refused()
    {
        using var signer = new TestSigner();
        var token = Token(signer, Now.ToUnixTimeSeconds() - 60, Now.ToUnixTimeSeconds());
        var e = Assert.Throws<CryptographicException>(() => Jwt.Verify(token, signer, Now));
        Assert.Equal($"token expired at {Now:O}", e.Message);
    }

    [Fact]
    public void Verify_IssuedInTheFuture_Refused()
    {
        using var signer = new TestSigner();
        var token = Token(signer, Now.ToUnixTimeSeconds() + 31, Now.ToUnixTimeSeconds() + 90);
        var e = Assert.Throws<CryptographicException>(() => Jwt.Verify(token, signer, Now));
        Assert.Equal($"token is issued in the future ({Now.AddSeconds(31):O})", e.Message);
    }

    [Fact]
    public void Verify_OtherKey_Refused()
    {
        using var signer = new TestSigner();
        using var other = new TestSigner();
        var e = Assert.Throws<CryptographicException>(() => Jwt.Verify(Token(signer, Now.ToUnixTimeSeconds(), Now.ToUnixTimeSeconds() + 60), other, Now));
        Assert.Equal($"token is signed by key '{signer.KeyId}', not by '{other.KeyId}'", e.Message);
    }

    [Fact]
    public void Verify_ModifiedClaims_Refused()
    {
        using var signer = new TestSigner();
        var parts = Token(signer, Now.ToUnixTimeSeconds(), Now.ToUnixTimeSeconds() + 60).Split('.');
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"iat":{{Now.ToUnixTimeSeconds()}},"exp":{{Now.ToUnixTimeSeconds() + 6000}},"sub":"a"}"""))}.{parts[2]}";
        var e = Assert.Throws<CryptographicException>(() => Jwt.Verify(forged, signer, Now));
        Assert.Equal($"token signature does not verify with key '{signer.KeyId}'", e.Message);
    }

    [Fact]
    public void Verify_NotJwtType_Refused()
    {
        using var signer = new TestSigner();
        var token = Jws.SignCompact("{}"u8, signer, "golden+jws");
        Assert.Equal("token 'typ' is 'golden+jws', expected 'JWT'", Assert.Throws<FormatException>(() => Jwt.Verify(token, signer, Now)).Message);
    }

    [Fact]
    public void Verify_NoExp_Refused()
    {
        using var signer = new TestSigner();
        var token = Jwt.Sign("{\"iat\":1}"u8, signer);
        Assert.Equal("token claim 'exp' is missing or not an integer NumericDate", Assert.Throws<FormatException>(() => Jwt.Verify(token, signer, Now)).Message);
    }
}
