using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// The services on separate hosts (<see cref="MultiHostDeployment"/>): attestation across the network, a link cut and
/// its healing, the verifier losing PostgreSQL, a key released through the broker to an agent host. Every test leaves
/// the network healed and every agent Attested.
/// </summary>
[Trait("Category", "Slow")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MultiHostTests(MultiHostDeployment deployment) : IClassFixture<MultiHostDeployment>
{
    /// <summary>Three faults at back-offs of 1, 2 and 4 intervals, each up to the verifier's 10 s agent timeout; slack for a loaded machine.</summary>
    private static readonly TimeSpan CutPatience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task ThreeAgentsOnTheirOwnHosts_AttestedAtTheAddressesTheyAdvertised()
    {
        var agents = await deployment.Tenant().ListAgentsAsync();

        Assert.Equal(
            deployment.Agents.Select(a => (a.AgentId, a.Host.Endpoint(MultiHostDeployment.AgentPort), AgentStates.Attested)).Order(),
            agents.Select(a => (a.AgentId, a.Address, a.State)).Order());
    }

    [Fact]
    public async Task AgentHostCut_ThatAgentUnreachableOthersStillAttested_HealedBackToAttested()
    {
        var cut = deployment.Agents[0];
        var others = deployment.Agents.Skip(1).ToList();
        var tenant = deployment.Tenant();
        AgentStatus unreachable;
        IReadOnlyList<AgentStatus> othersBefore;
        IReadOnlyList<AgentStatus> othersDuring;
        await deployment.Network.CutAsync(cut.Host.Name);
        try
        {
            othersBefore = await StatusesAsync(tenant, others);
            unreachable = await deployment.WaitForStateAsync(cut, AgentStates.Unreachable, CutPatience);
            othersDuring = await StatusesAsync(tenant, others);
        }
        finally
        {
            await deployment.Network.HealAsync(cut.Host.Name);
        }
        var healed = await deployment.WaitForStateAsync(cut, AgentStates.Attested, CutPatience);

        // Which fault comes third depends on timing: a request on the open connection times out, a new connection
        // finds no route once ARP gives up (both within the verifier's 10 s agent timeout).
        Assert.Contains(unreachable.FailureReason,
            new[] { $"No route to host ({cut.Host.Endpoint(MultiHostDeployment.AgentPort)}) (No route to host)", "agent did not answer in time" });
        Assert.All(othersDuring, s => Assert.Equal((AgentStates.Attested, null), (s.State, s.FailureReason)));
        // Still attested while the cut lasted, not merely left as they were.
        Assert.All(othersDuring.Zip(othersBefore), p => Assert.True(p.First.Attestations > p.Second.Attestations, $"{p.First.AgentId} was not attested during the cut"));
        Assert.Null(healed.FailureReason);
    }

    [Fact]
    public async Task VerifierCutFromPostgres_NotReadyAndNothingInvented_HealedReadyWithEveryResultKept()
    {
        var tenant = deployment.Tenant();
        using var probe = deployment.Client(ServiceRoles.Tenant, deployment[MultiHostDeployment.Verifier].Endpoint(VerifierOptions.DefaultAgentPort), ServiceRoles.Verifier);
        // Known fault: the first /readyz after the cut answers only after about 33 s (the store check itself is bounded
        // to 5 s; what holds the request is not found yet), so this probe waits longer than a client's default 30 s.
        probe.Timeout = TimeSpan.FromSeconds(90);
        var before = new Dictionary<string, IReadOnlyList<AttestationResultRecord>>();
        foreach (var agent in deployment.Agents)
            before[agent.AgentId] = await tenant.GetResultsAsync(agent.AgentId, 1000);
        string? notReady;
        await deployment.Network.CutAsync(MultiHostDeployment.Postgres);
        try
        {
            notReady = await Eventually.WaitAsync(async () => await ReadinessAsync(probe) is (HttpStatusCode.ServiceUnavailable, var detail) ? detail : null,
                () => "the verifier stayed ready without its store", TimeSpan.FromSeconds(90));
        }
        finally
        {
            await deployment.Network.HealAsync(MultiHostDeployment.Postgres);
        }
        var healedAt = DateTimeOffset.UtcNow;
        await Eventually.WaitAsync(async () => await ReadinessAsync(probe) is (HttpStatusCode.OK, _) ? "" : null, () => "the verifier did not become ready again");
        var after = new List<AgentStatus>();
        foreach (var agent in deployment.Agents)
            after.Add(await Eventually.WaitAsync(async () => await tenant.GetAgentAsync(agent.AgentId) is { LastSuccess: { } last } s && last > healedAt ? s : null,
                () => $"agent {agent.Host.Name} not attested again after the store came back"));

        Assert.Equal($"store: {VerifierStoreLocation()}: no answer within {StoreDatabase.CheckTimeout.TotalSeconds:0} s", notReady);
        Assert.All(after, s => Assert.Equal((AgentStates.Attested, null), (s.State, s.FailureReason)));
        foreach (var agent in deployment.Agents)
        {
            var results = await tenant.GetResultsAsync(agent.AgentId, TrustLaunch.Verifier.Apis.TenantApi.MaxResults);
            Assert.Subset(results.Select(r => r.Id).ToHashSet(), before[agent.AgentId].Select(r => r.Id).ToHashSet());
            Assert.All(results, r => Assert.Equal(EarToken.Affirming, r.Status));
        }
    }

    [Fact]
    public async Task KeyRelease_FromAnAgentHost_ThroughTheBrokerAcrossTheNetwork()
    {
        var agent = deployment.Agents[2];
        var secret = RandomNumberGenerator.GetBytes(32);
        var file = Path.Combine(deployment.Directory, "secret-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, secret);
        (await deployment.KbsAdminAsync("resource", "put", "default/key/multihost", "--file", file)).EnsureSuccess("kbs resource put");
        File.Delete(file);
        var output = Path.Combine(deployment.Directory, "released-" + Guid.NewGuid().ToString("N"));

        (await MultiHostDeployment.CliAsync(agent.Host, "kbs", "get-resource", "kbs:///default/key/multihost", "--out", output, "--agent-socket", agent.SocketPath))
            .EnsureSuccess("kbs get-resource on " + agent.Host.Name);

        Assert.Equal(secret, await File.ReadAllBytesAsync(output));
    }

    private static async Task<IReadOnlyList<AgentStatus>> StatusesAsync(TrustLaunch.Hosting.Clients.VerifierClient tenant, IEnumerable<MultiHostAgent> agents)
    {
        var statuses = new List<AgentStatus>();
        foreach (var agent in agents)
            statuses.Add((await tenant.GetAgentAsync(agent.AgentId))!);
        return statuses;
    }

    private static async Task<(HttpStatusCode Status, string Detail)> ReadinessAsync(HttpClient probe)
    {
        using var response = await probe.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? body : System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString() ?? "");
    }

    private string VerifierStoreLocation() => deployment.VerifierProcess.Arguments[deployment.VerifierProcess.Arguments.ToList().IndexOf("--store") + 1];
}
