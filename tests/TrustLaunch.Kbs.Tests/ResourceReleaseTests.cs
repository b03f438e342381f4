using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>GET /kbs/v0/resource/…</c> of <c>trustlaunch serve kbs</c> for sessions and tokens a real agent's attestation
/// earned: the JWE to its tee key, and each refusal with its status, name and detail.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsStackFixture.Collection)]
public sealed class ResourceReleaseTests(KbsStackFixture stack)
{
    private FleetNode Node => stack.Nodes[0];

    [Fact]
    public async Task Resource_AttestedSessionCookie_JweToTheP256TeeKey()
    {
        var secret = RandomNumberGenerator.GetBytes(48);
        await stack.PutResourceAsync("default/key/cookie", secret);
        using var http = stack.Client();
        var client = new KbsClient(http, new Uri($"https://127.0.0.1:{stack.Port}"), await stack.EvidenceAsync(Node));

        var released = await client.FetchAsync(KbsResourceUri.Parse("kbs:///default/key/cookie"));

        Assert.Equal(secret, released);
    }

    [Fact]
    public async Task Resource_BearerToken_RsaOaep256A256GcmJwe()
    {
        var secret = Encoding.UTF8.GetBytes("image key for the RSA attester");
        await stack.PutResourceAsync("default/key/rsa", secret);
        using var rsa = RSA.Create(2048);
        using var key = JweDecryptionKey.FromRsa(rsa);
        using var attester = stack.Client();
        var token = await KbsWire.AttestAsync(attester, await stack.EvidenceAsync(Node), key);
        using var other = stack.Client();

        using var response = await KbsWire.GetResourceAsync(other, "default/key/rsa", bearer: token);

        var jwe = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, jwe);
        using var document = JsonDocument.Parse(jwe);
        var header = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(document.RootElement.GetProperty("protected").GetString()));
        Assert.StartsWith("""{"alg":"RSA-OAEP-256","enc":"A256GCM""", header, StringComparison.Ordinal);
        Assert.Equal(secret, JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe), key));
    }

    [Fact]
    public async Task Resource_NoRuleAllowsIt_403PolicyDeny()
    {
        await stack.PutResourceAsync("node1/key/only", [1, 2, 3]);
        using var client = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(client, await stack.EvidenceAsync(Node), key);
        var version = await CurrentPolicyVersionAsync();

        using var response = await KbsWire.GetResourceAsync(client, "node1/key/only");

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Forbidden, KbsErrorNames.PolicyDeny,
            $"no rule of resource policy version {version} lets agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read node1/key/only");
    }

    [Fact]
    public async Task Resource_RuleNeedsNamespacesTheNodesPolicyDoesNotConfineItTo_403PolicyDeny()
    {
        await stack.PutResourceAsync("team-a/key/1", [7]);
        using var client = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(client, await stack.EvidenceAsync(Node), key);
        var appraisal = (await stack.Tenant.GetAppraisalAsync(Node.AgentId))!;
        var version = await CurrentPolicyVersionAsync();

        using var response = await KbsWire.GetResourceAsync(client, "team-a/key/1");

        Assert.Empty(appraisal.PolicyNamespaces);
        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Forbidden, KbsErrorNames.PolicyDeny,
            $"no rule of resource policy version {version} lets agent '{Node.AgentId}' (verifier policy '{KbsBrokerStack.VerifierPolicy}') read team-a/key/1");
    }

    [Fact]
    public async Task Resource_AllowedButNeverStored_404ResourceNotFound()
    {
        using var client = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(client, await stack.EvidenceAsync(Node), key);

        using var response = await KbsWire.GetResourceAsync(client, "default/key/never-stored");

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.NotFound, KbsErrorNames.ResourceNotFound, "no resource default/key/never-stored");
    }

    [Fact]
    public async Task Resource_SessionThatDidNotAttest_401UnAuthenticatedCookie()
    {
        using var client = stack.Client();
        await KbsFixture.AuthAsync(client);

        using var response = await KbsWire.GetResourceAsync(client, "default/key/cookie");

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.UnAuthenticatedCookie,
            "the session has not attested: POST /kbs/v0/attest first");
    }

    [Fact]
    public async Task Resource_NoCookieNoToken_401TokenNotFound()
    {
        using var client = stack.Client();

        using var response = await KbsWire.GetResourceAsync(client, "default/key/cookie");

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.TokenNotFound,
            "no kbs-session-id cookie and no Authorization: Bearer token: attest first");
    }

    [Fact]
    public async Task Auth_ProtocolVersionOfAnotherRelease_401ProtocolVersion()
    {
        using var client = stack.Client();

        using var response = await client.PostAsync("kbs/v0/auth", new StringContent("""{"version":"0.3.0","tee":"tpm"}""", Encoding.UTF8, "application/json"));

        await KbsWire.AssertErrorAsync(response, HttpStatusCode.Unauthorized, KbsErrorNames.ProtocolVersion,
            "KBS Client Protocol Version Mismatch: the broker speaks 0.4.0, the client 0.3.0");
    }

    [Fact]
    public async Task Attest_MalformedJson_400InvalidRequest()
    {
        using var client = stack.Client();
        await KbsFixture.AuthAsync(client);

        using var response = await client.PostAsync("kbs/v0/attest", new StringContent("""{"runtime-data":{"nonce":"x"}""", Encoding.UTF8, "application/json"));

        var error = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal((HttpStatusCode.BadRequest, KbsError.TypePrefix + KbsErrorNames.InvalidRequest), (response.StatusCode, error.Type));
        Assert.StartsWith("the body is not a valid request: ", error.Detail);
    }

    private async Task<int> CurrentPolicyVersionAsync()
    {
        var shown = (await stack.AdminCliAsync("policy", "show", "--json")).EnsureSuccess("kbs policy show");
        using var view = JsonDocument.Parse(shown.StandardOutput);
        return view.RootElement.GetProperty("version").GetInt32();
    }
}
