using System.Net;
using System.Net.Http.Json;
using System.Text;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Tests;

[Trait("Category", "Slow")]
public sealed class KbsProtocolTests(KbsFixture kbs) : IClassFixture<KbsFixture>
{
    private const string ErrorPrefix = "https://github.com/confidential-containers/kbs/errors/";

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string name, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody);
        Assert.Equal((ErrorPrefix + name, detail), (body!.Type, body.Detail));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Auth_Version040_ChallengeWith32ByteNonceAndSessionCookie()
    {
        using var client = kbs.Client();
        using var response = await client.PostAsync("kbs/v0/auth", Json("""{"version":"0.4.0","tee":"tpm","extra-params":{"supported-hash-algorithms":["sha384"]}}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var challenge = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsChallenge))!;
        Assert.Equal(32, Convert.FromBase64String(challenge.Nonce).Length);
        Assert.Equal("", challenge.ExtraParams);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.Matches("^kbs-session-id=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}; expires=", cookie);
        Assert.Contains((kbs.Clock.GetUtcNow() + KbsFixture.SessionTimeout).ToString("R"), cookie, StringComparison.Ordinal);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("0.3.0")]
    [InlineData("0.4.1")]
    [InlineData("0.4")]
    public async Task Auth_OtherProtocolVersion_401ProtocolVersion(string version)
    {
        using var client = kbs.Client();
        using var response = await client.PostAsync("kbs/v0/auth", Json($$"""{"version":"{{version}}","tee":"tpm","extra-params":""}"""));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "ProtocolVersion",
            $"KBS Client Protocol Version Mismatch: the broker speaks 0.4.0, the client {version}");
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Auth_OtherTee_400InvalidRequest()
    {
        using var client = kbs.Client();
        using var response = await client.PostAsync("kbs/v0/auth", Json("""{"version":"0.4.0","tee":"sgx"}"""));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "InvalidRequest", "tee 'sgx' is not supported: this broker attests 'tpm'");
    }

    [Theory]
    [InlineData("{\"version\":\"0.4.0\"")]
    [InlineData("{\"tee\":\"tpm\"}")]
    public async Task Auth_MalformedJson_400InvalidRequest(string body)
    {
        using var client = kbs.Client();
        using var response = await client.PostAsync("kbs/v0/auth", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal(ErrorPrefix + "InvalidRequest", error.Type);
        Assert.StartsWith("the body is not a valid request: ", error.Detail);
    }

    [Fact]
    public async Task Attest_NoCookie_401MissingCookie()
    {
        using var client = kbs.Client();
        using var key = JweDecryptionKey.CreateP256();
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation("AAAA", key.PublicJwk)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "MissingCookie", "no kbs-session-id cookie: call /kbs/v0/auth first");
    }

    [Fact]
    public async Task Attest_UnknownSessionId_401InvalidCookie()
    {
        using var client = kbs.Client();
        using var key = JweDecryptionKey.CreateP256();
        using var request = new HttpRequestMessage(HttpMethod.Post, "kbs/v0/attest") { Content = Json(KbsFixture.Attestation("AAAA", key.PublicJwk)) };
        request.Headers.Add("Cookie", $"kbs-session-id={Guid.NewGuid():D}");
        using var response = await client.SendAsync(request);
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "InvalidCookie", "the kbs-session-id cookie names no session of this broker");
    }

    [Fact]
    public async Task Attest_ExpiredSession_401ExpiredCookie()
    {
        using var client = kbs.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        kbs.Clock.Advance(KbsFixture.SessionTimeout);
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(nonce, key.PublicJwk)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "ExpiredCookie", "the session has expired: call /kbs/v0/auth again");
    }

    [Fact]
    public async Task Attest_RuntimeNonceNotTheSessions_401AttestationFailed()
    {
        using var client = kbs.Client();
        await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(Convert.ToBase64String(new byte[32]), key.PublicJwk)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "AttestationFailed", "runtime-data nonce is not this session's nonce");
    }

    private const string NotBound = "report_data is not SHA-384 of the canonical {additional-evidence, nonce, tee-pubkey}: the evidence does not bind this session's nonce and tee-pubkey";

    [Fact]
    public async Task Attest_ReportDataBindsAnotherTeePubkey_401AttestationFailed()
    {
        using var client = kbs.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var attacker = JweDecryptionKey.CreateP256();
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(nonce, attacker.PublicJwk, boundKey: key.PublicJwk)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "AttestationFailed", NotBound);
    }

    [Fact]
    public async Task Attest_EvidenceOfAnotherSessionReplayed_401AttestationFailed()
    {
        using var first = kbs.Client();
        var firstNonce = await KbsFixture.AuthAsync(first);
        using var second = kbs.Client();
        var secondNonce = await KbsFixture.AuthAsync(second);
        using var key = JweDecryptionKey.CreateP256();
        using var response = await second.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(secondNonce, key.PublicJwk, boundNonce: firstNonce)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "AttestationFailed", NotBound);
    }

    [Fact]
    public async Task Attest_SecondAttemptOnOneSession_401AttestationFailed()
    {
        using var client = kbs.Client();
        await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using (var firstTry = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(Convert.ToBase64String(new byte[32]), key.PublicJwk))))
            Assert.Equal(HttpStatusCode.Unauthorized, firstTry.StatusCode);
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(Convert.ToBase64String(new byte[32]), key.PublicJwk)));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "AttestationFailed", "this session has already been used for an attestation: call /kbs/v0/auth for a new one");
    }

    [Fact]
    public async Task Attest_TeePubkeyWithPrivateMember_400InvalidRequest()
    {
        using var client = kbs.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        var body = KbsFixture.Attestation(nonce, key.PublicJwk).Replace("\"kty\":\"EC\"", "\"kty\":\"EC\",\"d\":\"AAAA\"", StringComparison.Ordinal);
        using var response = await client.PostAsync("kbs/v0/attest", Json(body));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "InvalidRequest", "runtime-data tee-pubkey: JWK holds the private member 'd': only public keys are accepted");
    }

    [Fact]
    public async Task Attest_BoundEvidenceButRegistrarUnreachable_503ServiceUnavailable()
    {
        using var client = kbs.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var response = await client.PostAsync("kbs/v0/attest", Json(KbsFixture.Attestation(nonce, key.PublicJwk)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal(ErrorPrefix + "ServiceUnavailable", error.Type);
        Assert.StartsWith("the registrar could not be asked: ", error.Detail);
    }
}
