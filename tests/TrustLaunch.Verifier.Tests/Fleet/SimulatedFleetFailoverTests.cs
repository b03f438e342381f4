using System.Globalization;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.LoadSim.Simulation;
using TrustLaunch.Testing;
using Xunit.Abstractions;

namespace TrustLaunch.Verifier.Tests.Fleet;

/// <summary>
/// Issue 7's fleet test, all over real processes and mTLS: two <c>trustlaunch serve verifier</c> instances on one
/// PostgreSQL database share 50 simulated agents (40 polled, 10 pushing to the second instance), registered through
/// the real registrar. Every agent is attested by one instance at a time, never twice in one interval; after kill -9
/// of the first instance the survivor attests them all again within two lease periods and no result is lost; a
/// push agent that stops pushing becomes Unreachable.
/// </summary>
[Trait("Category", "Slow")]
public sealed class SimulatedFleetFailoverTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private const int PullAgents = 40;
    private const int PushAgents = 10;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);

    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-fleet-").FullName;
    private VerifierFleet _fleet = null!;
    private SimulatedFleet _simulated = null!;
    private FleetVerifier _first = null!;
    private FleetVerifier _second = null!;

    public async Task InitializeAsync()
    {
        string ekCa;
        using (EkAuthority.OpenOrCreate(Path.Combine(_work, "ek-ca")))
            ekCa = await File.ReadAllTextAsync(Path.Combine(_work, "ek-ca", EkAuthority.CertificateFile));
        _fleet = new VerifierFleet(1, new AgentDeployment { ExtraEkCaPem = ekCa });
        await _fleet.InitializeAsync();
        var store = postgres.Url(await postgres.CreateDatabaseAsync());
        string[] arguments = ["--store", store, "--quote-interval", Seconds(Interval), "--lease", Seconds(Lease)];
        _first = await _fleet.StartVerifierAsync("verifier-a", arguments);
        _second = await _fleet.StartVerifierAsync("verifier-b", arguments);
        _simulated = SimulatedFleet.Create(new FleetOptions(PullAgents + PushAgents, _fleet.TlsDirectory, TestCa.KeyDirectory(_fleet.TlsDirectory), _work, FreePorts.FindPair(),
            FleetOptions.DefaultFirstAddress, EventEvery: 3));
    }

    public async Task DisposeAsync()
    {
        _simulated?.Dispose();
        if (_fleet is not null)
            await _fleet.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task TwoInstancesFiftyAgents_OneHolderPerInterval_SurvivorTakesAllOverAndAStoppedPusherIsUnreachable()
    {
        using var trust = CaBundle.Load(Path.Combine(_fleet.TlsDirectory, CertificateAuthority.CertificateFile));
        await using var server = await PullServer.StartAsync(_simulated, trust, CancellationToken.None);
        using (var registrarHttp = new ServiceHttpClientFactory(TlsIdentity.FromDirectory(_fleet.TlsDirectory, ServiceRoles.Agent))
                   .Create(new Uri($"https://127.0.0.1:{_fleet.Deployment.RegistrarPort}/"), ServiceRoles.Registrar))
            await _simulated.RegisterAsync(new RegistrarClient(registrarHttp), 8, CancellationToken.None);

        var tenant = _fleet.Tenant(_first);
        await tenant.AddPolicyAsync(_simulated.Policy("fleet"));
        await Eventually.WaitForValueAsync(async () => (await tenant.ListInstancesAsync()).Count(i => i.Alive) == 2 ? true : (bool?)null, () => "both instances alive: not reached in time", FleetChecks.Patience);
        var pull = _simulated.Agents.Take(PullAgents).ToList();
        var push = _simulated.Agents.Skip(PullAgents).ToList();
        foreach (var agent in pull)
            await tenant.AddAgentAsync(new AddAgentRequest(agent.AgentId, "fleet", null));
        foreach (var agent in push)
            await tenant.AddAgentAsync(new AddAgentRequest(agent.AgentId, "fleet", null, AttestationModes.Push));
        using var stopAll = new CancellationTokenSource();
        using var stopOne = CancellationTokenSource.CreateLinkedTokenSource(stopAll.Token);
        var pushers = push.Select(a => new PushClient(a, new Uri($"https://127.0.0.1:{_second.AgentPort}/"), trust)).ToList();
        var pushing = pushers.Select((p, i) => p.RunAsync(TimeSpan.Zero, i == 0 ? stopOne.Token : stopAll.Token)).ToList();
        try
        {
            var everyone = _simulated.Agents.Select(a => a.AgentId).ToList();
            var pulled = pull.Select(a => a.AgentId).ToList();
            await Eventually.WaitForValueAsync(async () => await FleetChecks.EveryAgentHasAsync(tenant, everyone, r => r.Count >= 3), () => "three results per agent: not reached in time", FleetChecks.Patience);

            // The 50 agents are split 25/25 (push agents are held too: their holder watches their deadlines).
            Assert.Equal([("verifier-a", 25, true), ("verifier-b", 25, true)],
                (await tenant.ListInstancesAsync()).Select(i => (i.InstanceId, i.Agents, i.Alive)));
            var before = new Dictionary<string, IReadOnlyList<AttestationResultRecord>>(StringComparer.Ordinal);
            foreach (var agent in everyone)
            {
                var results = await tenant.GetResultsAsync(agent, 1000);
                Assert.All(results, r => Assert.Equal("affirming", r.Status));
                before[agent] = results;
            }
            // A polled agent is attested by one instance at a time: its results are an interval apart even when a
            // rebalance handed it over meanwhile.
            foreach (var agent in pulled)
                FleetChecks.AssertAtLeastOneIntervalApart(before[agent], Interval);
            Assert.Equal(2, pulled.Select(a => before[a][0].InstanceId).Distinct().Count());

            // Kill -9 the first instance: the survivor attests every polled agent again within two lease periods.
            await _first.Process.KillAsync();
            var killed = DateTimeOffset.UtcNow;
            var survivor = _fleet.Tenant(_second);
            await Eventually.WaitForValueAsync(async () => await FleetChecks.EveryAgentHasAsync(survivor, pulled,
                r => r.Count > 0 && r[0].InstanceId == "verifier-b" && r[0].At > killed), () => "every polled agent attested by the survivor: not reached in time", FleetChecks.Patience);
            var takeover = TimeSpan.Zero;
            foreach (var agent in everyone)
            {
                var results = await survivor.GetResultsAsync(agent, 1000);
                Assert.Superset(before[agent].Select(r => r.Id).ToHashSet(), results.Select(r => r.Id).ToHashSet());
                if (!pulled.Contains(agent))
                    continue;
                FleetChecks.AssertAtLeastOneIntervalApart(results, Interval);
                var firstAfter = results.Where(r => r.At > killed).Min(r => r.At) - killed;
                takeover = firstAfter > takeover ? firstAfter : takeover;
            }
            output.WriteLine($"slowest takeover after kill -9: {takeover.TotalSeconds:F2} s (lease {Lease.TotalSeconds} s)");
            Assert.True(takeover <= 2 * Lease, $"the last polled agent was attested again {takeover.TotalSeconds:F2} s after the kill");
            Assert.Equal([("verifier-a", 0, false), ("verifier-b", 50, true)],
                (await survivor.ListInstancesAsync()).Select(i => (i.InstanceId, i.Agents, i.Alive)));

            // The first push agent stops pushing: Unreachable once its deadline passes, the others stay Attested.
            await stopOne.CancelAsync();
            var stopped = push[0].AgentId;
            await Eventually.WaitForValueAsync(async () =>
                (await survivor.GetAgentAsync(stopped))?.State == AgentStates.Unreachable ? true : (bool?)null, () => "stopped push agent Unreachable: not reached in time", FleetChecks.Patience);
            Assert.StartsWith("no evidence arrived by its deadline ", (await survivor.GetAgentAsync(stopped))!.FailureReason);
            var statuses = await survivor.ListAgentsAsync();
            Assert.All(statuses.Where(s => s.AgentId != stopped), s => Assert.Equal(AgentStates.Attested, s.State));
        }
        finally
        {
            await stopAll.CancelAsync();
            await Task.WhenAll(pushing);
            foreach (var pusher in pushers)
                pusher.Dispose();
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString(CultureInfo.InvariantCulture);
}
