using System.Net;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Tests.Apis;

/// <summary>The tenant API over real mTLS against an in-process registrar and verifier.</summary>
public sealed class TenantApiTests : IAsyncLifetime
{
    private readonly VerifierStack _stack = new();

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        await _stack.StartVerifierAsync();
    }

    public Task DisposeAsync() => _stack.DisposeAsync();

    [Fact]
    public async Task TenantApi_NoClientCertificate_HandshakeRefused()
    {
        using var identity = TlsIdentity.FromDirectory(_stack.PkiDirectory, ServiceRoles.Tenant);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var anonymous = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{_stack.VerifierTenants.Address.Port}/") };

        await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync("v1/agents"));
    }

    [Fact]
    public async Task TenantApi_AgentCertificate_Forbidden()
    {
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => _stack.Tenant(ServiceRoles.Agent).ListAgentsAsync());

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("verifier: 403 role not allowed: client certificate role 'agent' is not allowed here: needs tenant", e.Message);
    }

    [Fact]
    public async Task Policies_AddTwiceShowListRemove_Versioned()
    {
        var tenant = _stack.Tenant();

        var first = await tenant.AddPolicyAsync(TestPolicies.Document());
        var second = await tenant.AddPolicyAsync(TestPolicies.Document(digests: ["sha256:" + new string('e', 64)]));

        Assert.Equal((1, 2), (first.Version, second.Version));
        Assert.Empty((await tenant.GetPolicyAsync("prod", 1))!.Policy.AllowedImageDigests);
        Assert.Equal(2, Assert.Single(await tenant.ListPoliciesAsync()).Version);
        await tenant.RemovePolicyAsync("prod");
        Assert.Null(await tenant.GetPolicyAsync("prod"));
    }

    [Fact]
    public async Task AddPolicy_Invalid_BadRequestWithReason()
    {
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => _stack.Tenant().AddPolicyAsync(TestPolicies.Document() with { LaunchPcr = 16 }));

        Assert.Equal("verifier: 400 invalid policy: launch_pcr 16 is not usable: 0-23, never 16 (debug) or 23 (application, resettable)", e.Message);
    }

    [Theory]
    [InlineData("""{"name":"prod","trusted_publishers":{},"allowed_image_digests":null,"allowed_publishers":[],"allowed_namespaces":[],"launch_pcr":13,"expected_pcrs":{}}""",
        "request body: The constructor parameter 'AllowedImageDigests' on type 'TrustLaunch.Hosting.Contracts.PolicyDocument' doesn't allow null values.")]
    [InlineData("""{"name":"prod","trusted_publishers":{},"allowed_image_digests":[],"allowed_publishers":[],"allowed_namespaces":[],"launch_pcr":13}""",
        "request body: JSON deserialization for type 'TrustLaunch.Hosting.Contracts.PolicyDocument' was missing required properties including: 'expected_pcrs'.")]
    public async Task AddPolicy_NullOrMissingMember_BadRequestNamingIt(string body, string expected)
    {
        using var http = _stack.Client(ServiceRoles.Tenant, _stack.VerifierTenants);

        using var response = await http.PostAsync("v1/policies", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => ServiceProblemException.EnsureSuccessAsync(response, "verifier", CancellationToken.None));
        Assert.Equal((HttpStatusCode.BadRequest, "bad request"), (e.Status, e.Title));
        Assert.StartsWith(expected, e.Detail, StringComparison.Ordinal);
        Assert.Empty(await _stack.Tenant().ListPoliciesAsync());
    }

    [Fact]
    public async Task AddAgent_UnknownPolicy_NotFound()
    {
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => _stack.Tenant().AddAgentAsync(new AddAgentRequest("a1", "nope", null)));

        Assert.Equal(HttpStatusCode.NotFound, e.Status);
        Assert.Equal("verifier: 404 no such policy: policy 'nope' does not exist", e.Message);
    }

    [Theory]
    [InlineData("poll", null, "mode must be 'pull' or 'push', not 'poll'")]
    [InlineData("push", "127.0.0.1:9002", "a push-mode agent has no address: it calls the verifier")]
    public async Task AddAgent_BadModeOrPushWithAddress_BadRequest(string mode, string? address, string expected)
    {
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => _stack.Tenant().AddAgentAsync(new AddAgentRequest("a1", "prod", address, mode)));

        Assert.Equal((HttpStatusCode.BadRequest, expected), (e.Status, e.Detail));
    }

    [Fact]
    public async Task AddAgent_NotRegistered_NotFound()
    {
        var tenant = _stack.Tenant();
        await tenant.AddPolicyAsync(TestPolicies.Document());

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => tenant.AddAgentAsync(new AddAgentRequest("ghost", "prod", null)));

        Assert.Equal("verifier: 404 no such agent: agent 'ghost' is not registered at the registrar", e.Message);
    }

    [Fact]
    public async Task Keys_AgentPort_PublicKeyWithKeyId()
    {
        using var http = _stack.Client(ServiceRoles.Agent, _stack.VerifierAgents);

        using var response = await http.GetAsync("v1/keys");

        response.EnsureSuccessStatusCode();
        using var verifier = PemPayloadVerifier.FromPem(await response.Content.ReadAsStringAsync());
        using var key = VerifierSigningKey.LoadOrCreate(Path.Combine(_stack.Directory, "verifier"));
        Assert.Equal(key.KeyId, verifier.KeyId);
        Assert.Equal(key.KeyId, Assert.Single(response.Headers.GetValues("X-Key-Id")));
    }

    [Fact]
    public async Task Outbox_EmptyThenLimitOutOfRange_ListedThenBadRequest()
    {
        using var http = _stack.Client(ServiceRoles.Tenant, _stack.VerifierTenants);

        var empty = await _stack.Tenant().ListOutboxAsync();
        using var response = await http.GetAsync("v1/outbox?limit=1001");

        Assert.Empty(empty);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"detail\":\"limit must be 1 to 1000\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_Scraped_VerifierInstrumentsListed()
    {
        using var http = _stack.Client(ServiceRoles.Tenant, _stack.VerifierAgents);

        var text = await http.GetStringAsync("metrics");

        Assert.Contains("trustlaunch_verifier_agents", text, StringComparison.Ordinal);
    }
}
