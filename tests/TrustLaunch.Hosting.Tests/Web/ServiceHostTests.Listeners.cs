using System.Net;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Hosting.Tests.Web;

/// <summary>Endpoint groups belong to the listener that accepted the connection, whatever Host the client sends.</summary>
public sealed partial class ServiceHostTests
{
    [Fact]
    public async Task OnEndpoint_SpoofedHostNamingTheManagementPort_NotFoundOnTheAgentPort()
    {
        // A tenant certificate is admitted by the management group: only the listener keeps it out here.
        using var client = Client(ServiceRoles.Tenant, _tls);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/admin/");
        request.Headers.Host = $"127.0.0.1:{_mtls.Address.Port}";
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task OnEndpoint_SpoofedHostNamingTheAgentPort_AgentRouteNotFoundOnTheManagementPort()
    {
        using var client = Client(ServiceRoles.Tenant, _mtls);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/open");
        request.Headers.Host = $"127.0.0.1:{_tls.Address.Port}";
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task OnEndpoint_ClientThroughAPortMapping_ReachesTheGroupOfTheListenerBehindIt()
    {
        await using var management = new TcpPortForwarder(_mtls.Address.Port);
        await using var agents = new TcpPortForwarder(_tls.Address.Port);

        using var tenant = Client(ServiceRoles.Tenant, management.Port);
        Assert.Equal("admin\n", await tenant.GetStringAsync("/v1/admin/"));
        using var agent = Client(ServiceRoles.Agent, agents.Port);
        Assert.Equal("open\n", await agent.GetStringAsync("/v1/open"));
        using var response = await agent.GetAsync("/v1/admin/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
