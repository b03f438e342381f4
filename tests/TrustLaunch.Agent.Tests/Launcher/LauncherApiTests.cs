using System.Net;
using System.Text;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Launcher;

/// <summary>
/// The node daemon's launcher endpoints on a real agent's unix socket: requests are read strictly and refused as
/// problem+json with their exact reason, before anything is pulled or measured.
/// </summary>
[Trait("Category", "Slow")]
public sealed class LauncherApiTests(AgentDeployment node) : IClassFixture<AgentDeployment>, IAsyncLifetime, IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("trustlaunch-launcher-api-").FullName;

    public async Task InitializeAsync()
    {
        if (node.Agent?.ProcessId is null)
            await node.StartAgentAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private async Task<(HttpStatusCode Status, string? MediaType, string? Detail, long LogGrowth)> PostRunAsync(string json)
    {
        var before = (await node.GetInfoAsync()).LogLength;
        using var local = node.LocalClient();
        using var response = await local.PostAsync("/v1/containers", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await Assert.ThrowsAsync<ServiceProblemException>(() => ServiceProblemException.EnsureSuccessAsync(response, "run", CancellationToken.None));
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, problem.Detail, (await node.GetInfoAsync()).LogLength - before);
    }

    private string Request(string dataDir = "", string name = "web", string mode = "local") =>
        $$"""{"data_dir":"{{(dataDir.Length == 0 ? _dataDir : dataDir)}}","reference":"127.0.0.1:1/none:v1","name":"{{name}}","runtime":"crun","mode":"{{mode}}","network":"pod","seccomp":"default","pids_limit":10,"attach":false,"trust":"/nonexistent"}""";

    [Fact]
    public async Task Run_RequiredMemberMissing_400ProblemNamingIt()
    {
        var (status, mediaType, detail, growth) = await PostRunAsync("""{"data_dir":"/tmp"}""");

        Assert.Equal((HttpStatusCode.BadRequest, "application/problem+json", 0L), (status, mediaType, growth));
        Assert.Contains("reference", detail);
    }

    [Fact]
    public async Task Run_RelativeDataDir_400()
    {
        var (status, _, detail, growth) = await PostRunAsync(Request(dataDir: "relative/data"));

        Assert.Equal((HttpStatusCode.BadRequest, "data_dir 'relative/data' is not an absolute path", 0L), (status, detail, growth));
    }

    [Fact]
    public async Task Run_UnknownMode_400()
    {
        var (status, _, detail, growth) = await PostRunAsync(Request(mode: "trust-me"));

        Assert.Equal((HttpStatusCode.BadRequest, "mode 'trust-me' is neither local nor remote", 0L), (status, detail, growth));
    }

    [Fact]
    public async Task Run_NameThatWouldEscapeTheContainersDirectory_400()
    {
        var (status, _, detail, growth) = await PostRunAsync(Request(name: "../x"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("invalid container name '../x'", detail);
        Assert.Equal(0L, growth);
    }

    [Fact]
    public async Task Remove_UnknownContainer_409NoContainerNamed()
    {
        using var local = node.LocalClient();
        using var response = await local.DeleteAsync($"/v1/containers/ghost?data_dir={Uri.EscapeDataString(_dataDir)}");
        var problem = await Assert.ThrowsAsync<ServiceProblemException>(() => ServiceProblemException.EnsureSuccessAsync(response, "rm", CancellationToken.None));

        Assert.Equal((HttpStatusCode.Conflict, "no container named 'ghost'"), (problem.Status, problem.Detail));
    }

    [Fact]
    public async Task List_WithoutDataDir_400()
    {
        using var local = node.LocalClient();
        using var response = await local.GetAsync("/v1/containers");
        var problem = await Assert.ThrowsAsync<ServiceProblemException>(() => ServiceProblemException.EnsureSuccessAsync(response, "ps", CancellationToken.None));

        Assert.Equal((HttpStatusCode.BadRequest, "data_dir '' is not an absolute path"), (problem.Status, problem.Detail));
    }

    [Fact]
    public async Task Launcher_OverTheAttestationPort_404()
    {
        using var client = node.AgentClient();

        using var response = await client.GetAsync($"/v1/containers?data_dir={Uri.EscapeDataString(_dataDir)}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
