using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>/kbs/v0/attest</c> and <c>/kbs/v0/resource</c> of <c>trustlaunch serve kbs</c> against the real registrar and
/// verifier, with evidence quoted by a real agent's AK on swtpm.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsStackFixture.Collection)]
public sealed class RealAttestationTests(KbsStackFixture stack)
{
    private FleetNode Node => stack.Nodes[0];

    [Fact]
    public async Task Attest_RealAgentAk_TokenForTheAgent()
    {
        var evidence = await stack.EvidenceAsync(Node);
        using var client = stack.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var tee = await evidence.CollectAsync(nonce, teePubkey.RootElement, default);

        using var response = await client.PostAsync("kbs/v0/attest", KbsWire.Json(KbsWire.Attestation(nonce, key.PublicJwk, tee)));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var token = Jws.Parse(JsonSerializer.Deserialize(text, KbsJsonContext.Default.KbsAttestationToken)!.Token);
        using var claims = JsonDocument.Parse(token.Payload);
        Assert.Equal("affirming", claims.RootElement.GetProperty("submods").GetProperty(Node.AgentId).GetProperty("ear.status").GetString());
    }

    [Fact]
    public async Task Attest_ReportDataBindsAnotherNonce_401AttestationFailed()
    {
        var evidence = await stack.EvidenceAsync(Node);
        using var client = stack.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var tee = await evidence.CollectAsync(Convert.ToBase64String(new byte[32]), teePubkey.RootElement, default);

        using var response = await client.PostAsync("kbs/v0/attest", KbsWire.Json(KbsWire.Attestation(nonce, key.PublicJwk, tee)));

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, KbsErrorNames.NotBoundDetail);
    }

    [Fact]
    public async Task Attest_ReportDataBindsAnotherTeePubkey_401AttestationFailed()
    {
        var evidence = await stack.EvidenceAsync(Node);
        using var client = stack.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var attacker = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var tee = await evidence.CollectAsync(nonce, teePubkey.RootElement, default);

        using var response = await client.PostAsync("kbs/v0/attest", KbsWire.Json(KbsWire.Attestation(nonce, attacker.PublicJwk, tee)));

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, KbsErrorNames.NotBoundDetail);
    }

    [Fact]
    public async Task Attest_QuoteOverOtherQualifyingData_401AttestationFailed()
    {
        var evidence = await stack.EvidenceAsync(Node);
        using var client = stack.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var bound = TpmTeeEvidence.ReportDataFor(nonce, teePubkey.RootElement);
        var quoted = await evidence.QuoteAsync(new byte[64]);
        var primary = quoted.PrimaryEvidence.Deserialize(KbsJsonContext.Default.TpmEvidence)! with { ReportData = Convert.ToBase64String(bound) };
        var tee = new KbsTeeEvidence(JsonSerializer.SerializeToElement(primary, KbsJsonContext.Default.TpmEvidence), "");

        using var response = await client.PostAsync("kbs/v0/attest", KbsWire.Json(KbsWire.Attestation(nonce, key.PublicJwk, tee)));

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, "quote refused: nonce mismatch");
    }

    [Fact]
    public async Task Attest_SameEvidenceOnASecondSession_401AttestationFailed()
    {
        var evidence = await stack.EvidenceAsync(Node);
        using var first = stack.Client();
        var nonce = await KbsFixture.AuthAsync(first);
        using var key = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var attestation = KbsWire.Attestation(nonce, key.PublicJwk, await evidence.CollectAsync(nonce, teePubkey.RootElement, default));
        using (var accepted = await first.PostAsync("kbs/v0/attest", KbsWire.Json(attestation)))
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        using var second = stack.Client();
        var secondNonce = await KbsFixture.AuthAsync(second);

        using var replayed = await second.PostAsync("kbs/v0/attest", KbsWire.Json(attestation));
        using var rebound = await second.PostAsync("kbs/v0/attest", KbsWire.Json(attestation with { RuntimeData = attestation.RuntimeData with { Nonce = secondNonce } }));

        await KbsWire.AssertErrorAsync(replayed, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, "runtime-data nonce is not this session's nonce");
        await KbsWire.AssertErrorAsync(rebound, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed,
            "this session has already been used for an attestation: call /kbs/v0/auth for a new one");
    }

    [Fact]
    public async Task Attest_AkTheRegistrarNeverActivated_401AttestationFailed()
    {
        using var software = new NodeSoftwareEvidence();
        using var client = stack.Client();
        var nonce = await KbsFixture.AuthAsync(client);
        using var key = JweDecryptionKey.CreateP256();
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var tee = await software.CollectAsync(nonce, teePubkey.RootElement, default);

        using var response = await client.PostAsync("kbs/v0/attest", KbsWire.Json(KbsWire.Attestation(nonce, key.PublicJwk, tee)));

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, "the AK is not one the registrar activated");
    }

    [Fact]
    public async Task Resource_BearerTokenOfAnotherBroker_401InvalidToken()
    {
        using var client = stack.Client();
        using var signer = new TokenSigner();
        using var key = JweDecryptionKey.CreateP256();
        var forged = KbsToken.Create(signer, Node.AgentId, key.PublicJwk, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        using var request = new HttpRequestMessage(HttpMethod.Get, "kbs/v0/resource/default/key/1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", forged);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal(KbsError.TypePrefix + KbsErrorNames.InvalidToken, body.Type);
        Assert.StartsWith("the bearer token is refused: ", body.Detail);
    }
}
