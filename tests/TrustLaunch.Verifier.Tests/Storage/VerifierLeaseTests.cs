using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Storage;
using static TrustLaunch.Verifier.Tests.Storage.LeaseTestData;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>
/// Agent leases between verifier instances on one store, the same on every backend: the even split, a joining
/// instance, a dead one's agents taken over, in-flight agents kept, and writes fenced by the lease. Instance b works
/// through a store opened separately on the same location, as another process would.
/// </summary>
public abstract class VerifierLeaseTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-leases-").FullName;
    private VerifierStore _store = null!;
    private VerifierStore _other = null!;

    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync()
    {
        var location = await CreateLocationAsync();
        _store = await VerifierStore.OpenAsync(location, _dataDirectory);
        _other = await VerifierStore.OpenAsync(location, _dataDirectory);
        for (var i = 0; i < 10; i++)
            await _store.AddAgentAsync(AgentRecord.New($"agent-{i}", "127.0.0.1:9002", "prod", 1));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _other.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task MaintainLeases_TwoInstances_FiveEachDisjoint()
    {
        var held = await RoundsAsync(Now, 2, "a", "b");

        Assert.Equal([5, 5], held.Values.Select(h => h.Count));
        AssertPartition(held);
    }

    [Fact]
    public async Task MaintainLeases_ThirdInstanceJoins_FourThreeThree()
    {
        await RoundsAsync(Now, 2, "a", "b");

        var held = await RoundsAsync(Now.AddSeconds(1), 2, "a", "b", "c");

        Assert.Equal([4, 3, 3], held.Values.Select(h => h.Count));
        AssertPartition(held);
        Assert.Equal([("a", 4, true), ("b", 3, true), ("c", 3, true)],
            (await _store.ListInstancesAsync(Now.AddSeconds(1))).Select(i => (i.InstanceId, i.Agents, i.Alive)));
    }

    [Fact]
    public async Task MaintainLeases_InstanceStopsRenewing_OthersTakeItsAgentsAfterItsLease()
    {
        var before = await RoundsAsync(Now, 2, "a", "b", "c");

        // c stops; a and b keep renewing. Within c's lease nothing moves; after it, a and b split c's agents.
        var within = await RoundsAsync(Now.AddSeconds(10), 1, "a", "b");
        var after = await RoundsAsync(Now.AddSeconds(16), 1, "a", "b");

        Assert.Equal([4, 3], within.Values.Select(h => h.Count));
        Assert.Equal([5, 5], after.Values.Select(h => h.Count));
        Assert.Superset(before["a"].ToHashSet(), after["a"].ToHashSet());
        Assert.Subset(after["a"].Concat(after["b"]).ToHashSet(), before["c"].ToHashSet());
        AssertPartition(after);
        var c = (await _store.ListInstancesAsync(Now.AddSeconds(16))).Single(i => i.InstanceId == "c");
        Assert.Equal((false, 0), (c.Alive, c.Agents));
    }

    [Fact]
    public async Task MaintainLeases_ExcessAgentsInFlight_KeptUntilDone()
    {
        var alone = (await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease)).Select(h => h.AgentId).ToList();
        await _other.MaintainLeasesAsync(Instance("b"), NoneInFlight, Now, Lease);
        var inFlight = alone.Take(7).ToHashSet();

        var held = await _store.MaintainLeasesAsync(Instance("a"), inFlight, Now.AddSeconds(1), Lease);
        var taken = await _other.MaintainLeasesAsync(Instance("b"), NoneInFlight, Now.AddSeconds(1), Lease);
        var done = await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now.AddSeconds(2), Lease);

        Assert.Equal(10, alone.Count);
        Assert.Equal(inFlight, held.Select(h => h.AgentId).ToHashSet());
        Assert.Equal(3, taken.Count);
        Assert.Equal(5, done.Count);
    }

    [Fact]
    public async Task RecordAttestation_LeaseMovedToAnotherInstance_NothingWritten()
    {
        await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease);
        var agent = (await _store.GetAgentAsync("agent-0"))!;
        // a stops renewing; b takes everything once a's lease has run out.
        var taken = await _other.MaintainLeasesAsync(Instance("b"), NoneInFlight, Now.AddSeconds(16), Lease);
        var attested = agent with { State = AgentStates.Attested, LastAttestation = Now.AddSeconds(17), Attestations = 1 };

        var late = await _store.RecordAttestationAsync(attested, Result("a"), "jws", ["http://x/"], "a");
        var faulted = await _store.RecordFaultAsync(agent, 1, AgentStates.Attesting, "refused", Now.AddSeconds(17), "a");
        var holder = await _other.RecordAttestationAsync(attested, Result("b"), null, [], "b");

        Assert.Equal(10, taken.Count);
        Assert.Null(late);
        Assert.False(faulted);
        Assert.Equal("b", Assert.Single(await _store.GetResultsAsync("agent-0", 10)).InstanceId);
        Assert.Equal(holder, Assert.Single(await _store.GetResultsAsync("agent-0", 10)));
        Assert.Empty(await _store.GetDueNotificationsAsync(Now.AddHours(1), 10));
        Assert.Equal((AgentStates.Attested, 0), ((await _store.GetAgentAsync("agent-0"))!.State, (await _store.GetAgentAsync("agent-0"))!.ConsecutiveFaults));
    }

    [Fact]
    public async Task MaintainLeases_HeldAgents_CarryLastAttestationForSchedulingAndTheirGeneration()
    {
        var agent = (await _store.GetAgentAsync("agent-3"))! with { LastAttestation = Now.AddSeconds(-1), ConsecutiveFaults = 2 };
        await _store.RecordAttestationAsync(agent, Result("x") with { AgentId = "agent-3" }, null, [], null);

        var held = await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease);

        Assert.Equal(new HeldAgent("agent-3", Now.AddSeconds(-1), 2, agent.Generation), held.Single(h => h.AgentId == "agent-3"));
        Assert.Equal(new HeldAgent("agent-0", null, 0, (await _store.GetAgentAsync("agent-0"))!.Generation), held[0]);
    }

    [Fact]
    public async Task Leave_InstanceGone_DeadWithNoAgentsAndOthersTakeOverAtOnce()
    {
        await RoundsAsync(Now, 2, "a", "b");

        await _store.LeaveAsync("a", Now.AddSeconds(1));
        var b = await _other.MaintainLeasesAsync(Instance("b"), NoneInFlight, Now.AddSeconds(1), Lease);
        Assert.True(await _store.RemoveAgentAsync("agent-9"));

        Assert.Equal(10, b.Count);
        Assert.Equal([("a", 0, false), ("b", 9, true)], (await _store.ListInstancesAsync(Now.AddSeconds(1))).Select(i => (i.InstanceId, i.Agents, i.Alive)));
        Assert.Equal("PEM a", await _store.GetPublicKeyAsync("kid-a"));
        Assert.Null(await _store.GetPublicKeyAsync("kid-z"));
    }

    private static AttestationResultRecord Result(string instance) =>
        new(0, "agent-0", Now.AddSeconds(17), "affirming", null, null, 0, "prod:v1", "t", instance);

    /// <summary>Each instance maintains its leases in turn, <paramref name="rounds"/> times; what each holds after the last.</summary>
    private async Task<SortedDictionary<string, IReadOnlyList<string>>> RoundsAsync(DateTimeOffset at, int rounds, params string[] instances)
    {
        var held = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var id in instances)
                held[id] = [.. (await (id == "b" ? _other : _store).MaintainLeasesAsync(Instance(id), NoneInFlight, at, Lease)).Select(h => h.AgentId)];
        }
        return held;
    }

    private static void AssertPartition(IDictionary<string, IReadOnlyList<string>> held)
    {
        var all = held.Values.SelectMany(h => h).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"agent-{i}").Order(), all.Order());
    }
}

public sealed class SqliteVerifierLeaseTests : VerifierLeaseTests
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresVerifierLeaseTests(PostgresFixture postgres) : VerifierLeaseTests, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
