using System.Net;
using System.Net.Http.Json;
using System.Text;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Kbs;

/// <summary><c>POST /v1/kbs/resource</c> of a real agent process: what it refuses before any handshake.</summary>
[Trait("Category", "Slow")]
public sealed class KbsResourceApiTests(AgentDeployment node) : IClassFixture<AgentDeployment>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        if (node.Agent?.ProcessId is null)
            await node.StartAgentAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Resource_AgentWithoutKbs_409NotConfigured()
    {
        using var local = node.LocalClient();

        using var response = await local.PostAsJsonAsync("/v1/kbs/resource", new KbsResourceRequest("kbs:///default/key/1"), KbsResourceJsonContext.Default.KbsResourceRequest);

        var problem = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ProblemDetails))!;
        Assert.Equal((HttpStatusCode.Conflict, KbsProblemTypes.NotConfigured), (response.StatusCode, problem.Type));
        Assert.Equal("this agent has no key broker: start it with serve agent --kbs https://HOST:8080", problem.Detail);
    }

    [Fact]
    public async Task Resource_OverTcp_404()
    {
        using var tcp = node.AgentClient();

        using var response = await tcp.PostAsJsonAsync("/v1/kbs/resource", new KbsResourceRequest("kbs:///default/key/1"), KbsResourceJsonContext.Default.KbsResourceRequest);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Resource_BodyWithoutUri_400()
    {
        using var local = node.LocalClient();

        using var response = await local.PostAsync("/v1/kbs/resource", new StringContent("""{"url":"kbs:///default/key/1"}""", Encoding.UTF8, "application/json"));

        var problem = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ProblemDetails))!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("the body is not {\"uri\":\"kbs:///REPOSITORY/TYPE/TAG\"}: ", problem.Detail);
    }
}
