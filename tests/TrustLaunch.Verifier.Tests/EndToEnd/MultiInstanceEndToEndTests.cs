using System.Globalization;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Tests.Fleet;
using Xunit.Abstractions;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>
/// Two <c>trustlaunch serve verifier</c> instances on one PostgreSQL database attesting three real swtpm agents: the
/// agents split between them, each agent attested by one instance at a time and never twice in one interval, a
/// killed instance's agents taken over by the survivor, and every result token checkable through either
/// instance's key set.
/// </summary>
[Trait("Category", "Slow")]
public sealed class MultiInstanceEndToEndTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private readonly VerifierFleet _fleet = new(3);
    private FleetVerifier _first = null!;
    private FleetVerifier _second = null!;

    public async Task InitializeAsync()
    {
        await _fleet.InitializeAsync();
        var store = postgres.Url(await postgres.CreateDatabaseAsync());
        string[] arguments = ["--store", store, "--quote-interval", Seconds(Interval), "--lease", Seconds(Lease)];
        _first = await _fleet.StartVerifierAsync("verifier-a", arguments);
        _second = await _fleet.StartVerifierAsync("verifier-b", arguments);
    }

    public Task DisposeAsync() => _fleet.DisposeAsync();

    [Fact]
    public async Task TwoInstances_SplitAttestAndFailOver_EachAgentOneHolderAtATimeAndTokensVerify()
    {
        var tenant = _fleet.Tenant(_first);
        await tenant.AddPolicyAsync(TestPolicies.Document() with { LaunchPcr = LaunchPcr.Default });
        // Both instances are alive before any agent exists, so the agents are split without handing any over.
        await Eventually.WaitForValueAsync(async () => (await tenant.ListInstancesAsync()).Count(i => i.Alive) == 2 ? true : (bool?)null, () => "both instances alive: not reached in time", FleetChecks.Patience);
        foreach (var node in _fleet.Nodes)
            await tenant.AddAgentAsync(new AddAgentRequest(node.AgentId, "prod", null));
        var agents = _fleet.Nodes.Select(n => n.AgentId).ToList();
        await Eventually.WaitForValueAsync(async () => await FleetChecks.EveryAgentHasAsync(tenant, agents, r => r.Count >= 3), () => "three results per agent: not reached in time", FleetChecks.Patience);

        // `trustlaunch verifier instances` shows both holding agents: 2 (first by id) and 1.
        var listed = await InstancesCliAsync(_second);
        Assert.Equal([("verifier-a", 2, true), ("verifier-b", 1, true)], listed.Select(i => (i.InstanceId, i.Agents, i.Alive)));
        var holders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            var results = await tenant.GetResultsAsync(agent, 1000);
            holders[agent] = Assert.Single(results.Select(r => r.InstanceId!).Distinct());
            Assert.All(results, r => Assert.Equal("affirming", r.Status));
        }
        Assert.Equal([("verifier-a", 2), ("verifier-b", 1)],
            holders.Values.GroupBy(h => h).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key!, g.Count())));

        // Kill -9 the instance holding two agents: the survivor takes all three over, the earlier results stay.
        var before = new Dictionary<string, IReadOnlyList<AttestationResultRecord>>(StringComparer.Ordinal);
        foreach (var agent in agents)
            before[agent] = await tenant.GetResultsAsync(agent, 1000);
        var survivor = _fleet.Tenant(_second);
        await _first.Process.KillAsync();
        var killed = DateTimeOffset.UtcNow;
        await Eventually.WaitForValueAsync(async () => await FleetChecks.EveryAgentHasAsync(survivor, agents, r => r.Count > 0 && r[0].InstanceId == "verifier-b" && r[0].At > killed),
            () => "every agent attested by the survivor: not reached in time", FleetChecks.Patience);
        var takeover = TimeSpan.Zero;
        var all = new List<AttestationResultRecord>();
        foreach (var agent in agents)
        {
            var results = await survivor.GetResultsAsync(agent, 1000);
            Assert.Superset(before[agent].Select(r => r.Id).ToHashSet(), results.Select(r => r.Id).ToHashSet());
            FleetChecks.AssertAtLeastOneIntervalApart(results, Interval);
            var firstAfter = results.Where(r => r.At > killed).Min(r => r.At);
            takeover = firstAfter - killed > takeover ? firstAfter - killed : takeover;
            all.AddRange(results);
        }
        output.WriteLine($"takeover after kill -9: {takeover.TotalSeconds:F2} s (lease {Lease.TotalSeconds} s, interval {Interval.TotalSeconds} s)");
        Assert.Equal([("verifier-a", 0, false), ("verifier-b", 3, true)],
            (await InstancesCliAsync(_second)).Select(i => (i.InstanceId, i.Agents, i.Alive)));

        // Tokens of both instances verify with the key their kid names, served by the survivor from the store.
        Assert.Equal(["verifier-a", "verifier-b"], all.Select(r => r.InstanceId!).Distinct().Order(StringComparer.Ordinal));
        using var keys = _fleet.AgentFacing(_second);
        var byKid = new Dictionary<string, PemPayloadVerifier>(StringComparer.Ordinal);
        foreach (var result in all)
        {
            var token = Jws.Parse(result.Token);
            if (!byKid.TryGetValue(token.KeyId!, out var key))
                byKid[token.KeyId!] = key = PemPayloadVerifier.FromPem(await keys.GetStringAsync($"v1/keys/{token.KeyId}"));
            Assert.True(key.Verify(token.Algorithm, token.SigningInput, token.Signature), $"result {result.Id} of {result.InstanceId}");
        }
        Assert.Equal(2, byKid.Count);
        foreach (var key in byKid.Values)
            key.Dispose();
        // `trustlaunch results` checks every token against the key its kid names, whichever instance signed it.
        foreach (var agent in agents)
            await CliAsync(_second, "results", agent, "--last", "1000", "--json");
    }

    /// <summary><c>trustlaunch verifier instances --json</c> against <paramref name="verifier"/>.</summary>
    private async Task<IReadOnlyList<VerifierInstanceStatus>> InstancesCliAsync(FleetVerifier verifier) =>
        JsonSerializer.Deserialize(await CliAsync(verifier, "verifier", "instances", "--json"), ContractsJsonContext.Default.IReadOnlyListVerifierInstanceStatus)!;

    /// <summary>Runs a tenant command of the CLI against <paramref name="verifier"/>; its standard output.</summary>
    private async Task<string> CliAsync(FleetVerifier verifier, params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        var result = await ProcessRunner.RunAsync(fileName, [.. prefix, .. arguments, .. _fleet.TenantArguments(verifier)]);
        return result.EnsureSuccess("trustlaunch " + string.Join(' ', arguments)).StandardOutput;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString(CultureInfo.InvariantCulture);
}
