using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>
/// Pull mode through an attacker on the path: a real agent on swtpm, its registrar, a verifier in this process that
/// polls the agent through a proxy holding the agent's TLS identity, which nulls a member of the first log record of
/// every quote it relays. The verifier must fail the agent with the reason, not retry and keep it Attested.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TamperedPullEvidenceTests : IAsyncLifetime
{
    private readonly AgentDeployment _deployment = new();
    private readonly List<TlsIdentity> _identities = [];
    private WebApplication? _verifier;
    private WebApplication? _proxy;
    private int _verifierPort;
    private int _proxyPort;
    private string _member = "content";

    public async Task InitializeAsync()
    {
        await _deployment.InitializeAsync();
        await _deployment.StartAgentAsync();
        await _deployment.MeasureAsync(LaunchEvents.ContainerStarted, """{"container":"c1"}""");
        _proxyPort = FreePorts.FindPair();
        _proxy = StartProxy();
        await _proxy.StartAsync();
        _verifierPort = FreePorts.FindPair();
        _verifier = await VerifierApp.BuildAsync(new VerifierOptions(Path.Combine(_deployment.Directory, "verifier"),
            new ServiceEndpoint("agents", new IPEndPoint(IPAddress.Loopback, _verifierPort), false),
            new ServiceEndpoint("tenants", new IPEndPoint(IPAddress.Loopback, _verifierPort + 1), true),
            Identity(ServiceRoles.Verifier), new Uri($"https://127.0.0.1:{_deployment.RegistrarPort + 1}/"), TimeSpan.FromMilliseconds(300), 4, 3, []));
        await _verifier.StartAsync();
    }

    [Theory]
    [InlineData("content", "$.events[0].content", "The constructor parameter 'Content' on type 'TrustLaunch.Measurement.CelRecord' doesn't allow null values.")]
    [InlineData("digest", "$.events[0].digests[0].digest", "The constructor parameter 'Digest' on type 'TrustLaunch.Measurement.CelDigest' doesn't allow null values.")]
    public async Task Poll_RecordMemberNulledOnTheWay_FailedAsMalformedEvidence(string member, string path, string expected)
    {
        _member = member;
        var tenant = new VerifierClient(Client(ServiceRoles.Tenant, _verifierPort + 1, ServiceRoles.Verifier));
        await tenant.AddPolicyAsync(TestPolicies.Document() with { LaunchPcr = LaunchPcr.Default });
        await Eventually.WaitAsync(async () => (await _deployment.RegistrarManagement().GetAsync(_deployment.AgentId))?.Active == true ? "active" : null);

        await tenant.AddAgentAsync(new AddAgentRequest(_deployment.AgentId, "prod", $"127.0.0.1:{_proxyPort}"));
        var failed = await Eventually.WaitAsync(async () => await tenant.GetAgentAsync(_deployment.AgentId) is { State: AgentStates.Failed } s ? s : null);

        Assert.StartsWith($"malformed evidence: {expected}", failed.FailureReason, StringComparison.Ordinal);
        Assert.Contains($"Path: {path}", failed.FailureReason, StringComparison.Ordinal);
        var result = (await tenant.GetResultsAsync(_deployment.AgentId, 1))[0];
        Assert.Equal(("contraindicated", failed.FailureReason), (result.Status, result.Reason));
    }

    /// <summary>Relays <c>/v1/quote</c> to the agent, with <see cref="_member"/> of the first record set to null.</summary>
    private WebApplication StartProxy()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var agentIdentity = Identity(ServiceRoles.Agent);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, _proxyPort, l => l.UseHttps(agentIdentity.Certificate)));
        var app = builder.Build();
        var agent = _deployment.AgentClient();
        app.Lifetime.ApplicationStopped.Register(agent.Dispose);
        app.MapGet("/v1/quote", async (HttpContext context) =>
        {
            using var answer = await agent.GetAsync("v1/quote" + context.Request.QueryString);
            var evidence = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
            if (evidence["events"]?.AsArray() is [{ } record, ..])
                (_member == "digest" ? record["digests"]![0]! : record)[_member] = null;
            return Results.Text(evidence.ToJsonString(), "application/json", statusCode: (int)answer.StatusCode);
        });
        return app;
    }

    private HttpClient Client(string name, int port, string serverRole) =>
        new ServiceHttpClientFactory(Identity(name)).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);

    private TlsIdentity Identity(string name)
    {
        var identity = TlsIdentity.FromDirectory(_deployment.TlsDirectory, name);
        _identities.Add(identity);
        return identity;
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await _deployment.DisposeAsync();
    }
}
