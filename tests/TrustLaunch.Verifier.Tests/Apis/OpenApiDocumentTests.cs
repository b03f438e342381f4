using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.Apis;

/// <summary>The registrar's and the verifier's <c>/openapi.json</c>, one per listener, against the routes mapped on it.</summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly VerifierStack _stack = new();

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        await _stack.StartVerifierAsync();
    }

    public Task DisposeAsync() => _stack.DisposeAsync();

    [Fact]
    public async Task OpenApi_EachRegistrarAndVerifierListener_DocumentsExactlyItsRoutes()
    {
        foreach (var (app, listener) in new[]
                 {
                     (_stack.RegistrarHost, _stack.RegistrarAgents), (_stack.RegistrarHost, _stack.RegistrarManagement),
                     (_stack.VerifierHost, _stack.VerifierAgents), (_stack.VerifierHost, _stack.VerifierTenants),
                 })
        {
            using var client = _stack.Client(ServiceRoles.Tenant, listener);
            await OpenApiRoutes.AssertDocumentsRoutesAsync(app, listener, client);
        }
    }

    [Fact]
    public void OpenApi_TenantListener_HoldsTheTenantRoutesAndNoAgentFacingOne()
    {
        var tenant = OpenApiRoutes.MappedOn(_stack.VerifierHost, _stack.VerifierTenants);
        var agents = OpenApiRoutes.MappedOn(_stack.VerifierHost, _stack.VerifierAgents);

        Assert.Contains("PUT /v1/agents/{id}/policy", tenant);
        Assert.Contains("GET " + OpenApiDocuments.Route, tenant);
        Assert.DoesNotContain("POST /v1/images/attest", tenant);
        Assert.Contains("POST /v1/images/attest", agents);
        Assert.DoesNotContain("PUT /v1/agents/{id}/policy", agents);
    }

    [Fact]
    public async Task OpenApi_TenantListenerAgentRole_RefusedAsTheTenantRoutes()
    {
        using var agent = _stack.Client(ServiceRoles.Agent, _stack.VerifierTenants);

        using var response = await agent.GetAsync(new Uri("openapi.json", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("client certificate role 'agent' is not allowed here: needs kbs, tenant", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_RegistrarManagementListenerAgentRole_Refused()
    {
        using var agent = _stack.Client(ServiceRoles.Agent, _stack.RegistrarManagement);

        using var response = await agent.GetAsync(new Uri("openapi.json", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("client certificate role 'agent' is not allowed here: needs kbs, tenant, verifier", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_TenantListenerWithoutClientCertificate_HandshakeRefused()
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var anonymous = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{_stack.VerifierTenants.Address.Port}/") };

        await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync("openapi.json"));
    }
}
