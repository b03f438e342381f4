using System.Net;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Service;

/// <summary>
/// The agent's <c>/openapi.json</c>: the attestation listener's (mTLS, verifier and tenant roles) and the unix
/// socket's (the launcher's local API, plain HTTP guarded by the socket's 0600 mode), each against the routes the
/// running app mapped on it.
/// </summary>
public sealed class OpenApiDocumentTests(InProcessAgent agent) : IClassFixture<InProcessAgent>
{
    [Fact]
    public async Task OpenApi_AttestationListener_DocumentsExactlyItsRoutes()
    {
        using var verifier = agent.Client(ServiceRoles.Verifier);

        await OpenApiRoutes.AssertDocumentsRoutesAsync(agent.App, agent.Attestation, verifier);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task OpenApi_UnixSocket_DocumentsExactlyTheLocalRoutesAndTheSocketStays0600()
    {
        using var local = agent.LocalClient();

        await OpenApiRoutes.AssertDocumentsRoutesAsync(agent.App, null, local);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(agent.SocketPath));
    }

    [Fact]
    public void OpenApi_EachListener_HoldsItsOwnApiAndNotTheOther()
    {
        var remote = OpenApiRoutes.MappedOn(agent.App, agent.Attestation);
        var local = OpenApiRoutes.MappedOn(agent.App, null);

        Assert.Contains("GET /v1/quote", remote);
        Assert.Contains("GET " + OpenApiDocuments.Route, remote);
        Assert.DoesNotContain("POST /v1/measure", remote);
        Assert.Contains("POST /v1/measure", local);
        Assert.Contains("DELETE /v1/containers/{name}", local);
        Assert.Contains("GET " + OpenApiDocuments.Route, local);
        Assert.DoesNotContain("GET /v1/quote", local);
    }

    [Fact]
    public async Task OpenApi_AttestationListenerAgentRole_RefusedAsTheAttestationRoutes()
    {
        using var client = agent.Client(ServiceRoles.Agent);

        using var response = await client.GetAsync(new Uri("openapi.json", UriKind.Relative));

        var problem = await Problems.ExpectAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("client certificate role 'agent' is not allowed here: needs tenant, verifier", problem.Detail);
    }
}
