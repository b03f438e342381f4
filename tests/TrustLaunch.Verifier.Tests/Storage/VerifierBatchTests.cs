using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Storage;
using static TrustLaunch.Verifier.Tests.Storage.LeaseTestData;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>
/// Group commit of attestation results, the same on every backend. A first write holds the writer inside its
/// transaction while the others queue, so they all go into the next transaction together; probes at both ends of the
/// queue see which transaction that was. One writer, so the held transaction is the only one.
/// </summary>
public abstract class VerifierBatchTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-batch-").FullName;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StoreLocation _location = null!;
    private VerifierStore _store = null!;
    private VerifierStore _other = null!;
    private DbTransaction? _first;
    private DbTransaction? _last;

    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync()
    {
        _location = await CreateLocationAsync();
        _store = await VerifierStore.OpenAsync(_location, _dataDirectory, resultWriters: 1);
        _other = await VerifierStore.OpenAsync(_location, _dataDirectory, resultWriters: 1);
        for (var i = 0; i < 4; i++)
            await _store.AddAgentAsync(Agent($"agent-{i}", "127.0.0.1:9002", "prod", 1));
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _store.DisposeAsync();
        await _other.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task RecordAttestation_SeveralAgentsQueuedDuringACommit_CommittedTogetherEachWithItsResult()
    {
        var held = await HoldWriterAsync();

        var first = Probe(t => _first = t);
        var saved = Enumerable.Range(0, 4).Select(i => _store.RecordAttestationAsync(Attested($"agent-{i}"), Result($"agent-{i}", null), null, [], null)).ToList();
        var last = Probe(t => _last = t);
        _release.SetResult();
        await Task.WhenAll([held, first, last, .. saved]);

        Assert.Same(_first, _last);
        foreach (var i in Enumerable.Range(0, 4))
        {
            var result = Assert.Single(await _store.GetResultsAsync($"agent-{i}", 10));
            Assert.Equal((result.Id, $"agent-{i}"), ((await saved[i])!.Id, result.AgentId));
            Assert.Equal((AgentStates.Attested, 1L), ((await _store.GetAgentAsync($"agent-{i}"))!.State, (await _store.GetAgentAsync($"agent-{i}"))!.Attestations));
        }
    }

    [Fact]
    public async Task RecordAttestation_OneFencedOutInBatch_NothingWrittenForItOthersCommit()
    {
        await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease);
        // a stops renewing; b takes every agent once a's lease has run out.
        await _other.MaintainLeasesAsync(Instance("b"), NoneInFlight, Now.AddSeconds(16), Lease);
        var held = await HoldWriterAsync();

        var first = Probe(t => _first = t);
        var late = _store.RecordAttestationAsync(Attested("agent-0") with { State = AgentStates.Failed }, Result("agent-0", "a"), "jws", ["http://x/"], "a");
        var holder = _store.RecordAttestationAsync(Attested("agent-1"), Result("agent-1", "b"), null, [], "b");
        var other = _store.RecordAttestationAsync(Attested("agent-2"), Result("agent-2", "b"), null, [], "b");
        var last = Probe(t => _last = t);
        _release.SetResult();
        await Task.WhenAll([held, first, last, late, holder, other]);

        Assert.Same(_first, _last);
        Assert.Null(await late);
        Assert.Empty(await _store.GetResultsAsync("agent-0", 10));
        Assert.Empty(await _store.GetDueNotificationsAsync(Now.AddHours(1), 10));
        Assert.Equal(AgentStates.Registered, (await _store.GetAgentAsync("agent-0"))!.State);
        Assert.Equal((await holder)!.Id, Assert.Single(await _store.GetResultsAsync("agent-1", 10)).Id);
        Assert.Equal((await other)!.Id, Assert.Single(await _store.GetResultsAsync("agent-2", 10)).Id);
    }

    [Fact]
    public async Task RecordPushAttestation_ReplayedChallengeInBatch_RefusedAlone()
    {
        await _store.AddAgentAsync(PushAgent("p1"));
        await _store.AddAgentAsync(PushAgent("p2"));
        await _store.IssueChallengeAsync(Challenge("p1", "c1"));
        await _store.IssueChallengeAsync(Challenge("p2", "c2"));
        var held = await HoldWriterAsync();

        var first = Probe(t => _first = t);
        var answered = RecordPushAsync("p1", "c1");
        var replayed = RecordPushAsync("p1", "c1");
        var other = RecordPushAsync("p2", "c2");
        var last = Probe(t => _last = t);
        _release.SetResult();
        await Task.WhenAll([held, first, last, answered, replayed, other]);

        Assert.Same(_first, _last);
        Assert.NotNull(await answered);
        Assert.Null(await replayed);
        Assert.NotNull(await other);
        Assert.Equal((await answered)!.Id, Assert.Single(await _store.GetResultsAsync("p1", 10)).Id);
        Assert.Single(await _store.GetResultsAsync("p2", 10));
    }

    [Fact]
    public async Task RecordAttestation_ManyAtOnceOnTheBackendsWriters_EachCommittedOnceWithItsResult()
    {
        await using var store = await VerifierStore.OpenAsync(_location, _dataDirectory);
        var ids = Enumerable.Range(4, 60).Select(i => $"agent-{i}").ToList();
        foreach (var id in ids)
            await store.AddAgentAsync(Agent(id, "127.0.0.1:9002", "prod", 1));
        await store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease);

        var saved = await Task.WhenAll(ids.Select(id => Task.Run(() => store.RecordAttestationAsync(Attested(id), Result(id, "a"), null, [], "a"))));

        Assert.Equal(ids.Count, saved.Select(r => r!.Id).Distinct().Count());
        foreach (var (id, result) in ids.Zip(saved))
        {
            var stored = Assert.Single(await store.GetResultsAsync(id, 10));
            Assert.Equal((result!.Id, id), (stored.Id, stored.AgentId));
            Assert.Equal(1L, (await store.GetAgentAsync(id))!.Attestations);
        }
    }

    [Fact]
    public async Task ResultWriter_OneWriteThrowsInBatch_OnlyItFailsOthersCommitAlone()
    {
        var held = await HoldWriterAsync();

        var before = _store.RecordAttestationAsync(Attested("agent-0"), Result("agent-0", null), null, [], null);
        var broken = _store.ResultWriter.WriteAsync((_, _) => throw new InvalidOperationException("broken write"), CancellationToken.None);
        var after = _store.RecordAttestationAsync(Attested("agent-1"), Result("agent-1", null), null, [], null);
        _release.SetResult();
        await held;

        Assert.Equal("broken write", (await Assert.ThrowsAsync<InvalidOperationException>(() => broken)).Message);
        Assert.Equal((await before)!.Id, Assert.Single(await _store.GetResultsAsync("agent-0", 10)).Id);
        Assert.Equal((await after)!.Id, Assert.Single(await _store.GetResultsAsync("agent-1", 10)).Id);
    }

    [Fact]
    public async Task ResultWriter_CallerCancelledBeforeItsBatch_NothingWritten()
    {
        var held = await HoldWriterAsync();

        using var cancel = new CancellationTokenSource();
        var cancelled = _store.RecordAttestationAsync(Attested("agent-0"), Result("agent-0", null), null, [], null, cancel.Token);
        await cancel.CancelAsync();
        _release.SetResult();
        await held;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Empty(await _store.GetResultsAsync("agent-0", 10));
    }

    [Fact]
    public async Task ResultWriter_QueueFullDuringHeldCommit_FurtherWritersWaitThenAllComplete()
    {
        await using var store = await VerifierStore.OpenAsync(_location, _dataDirectory, resultWriters: 1, resultQueue: 2);
        var held = await HoldWriterAsync(store);

        var queued = Enumerable.Range(0, 2).Select(i => store.RecordAttestationAsync(Attested($"agent-{i}"), Result($"agent-{i}", null), null, [], null)).ToList();
        var waiting = store.RecordAttestationAsync(Attested("agent-2"), Result("agent-2", null), null, [], null);
        using var cancel = new CancellationTokenSource();
        var givenUp = store.RecordAttestationAsync(Attested("agent-3"), Result("agent-3", null), null, [], null, cancel.Token);
        var depthWhileFull = store.QueuedResults;
        await cancel.CancelAsync();
        _release.SetResult();
        await Task.WhenAll([held, waiting, .. queued]);

        Assert.Equal(2, depthWhileFull);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givenUp);
        foreach (var (i, saved) in new[] { queued[0], queued[1], waiting }.Index())
            Assert.Equal((await saved)!.Id, Assert.Single(await store.GetResultsAsync($"agent-{i}", 10)).Id);
        Assert.Empty(await store.GetResultsAsync("agent-3", 10));
        Assert.Equal(0, store.QueuedResults);
    }

    /// <summary>Starts a write that stays in its transaction until <see cref="_release"/>; returns once it is in it.</summary>
    private async Task<Task> HoldWriterAsync(VerifierStore? store = null)
    {
        var held = (store ?? _store).ResultWriter.WriteAsync(async (_, _) =>
        {
            _holding.TrySetResult();
            await _release.Task;
            return null;
        }, CancellationToken.None);
        await _holding.Task;
        return held;
    }

    private Task<AttestationResultRecord?> Probe(Action<DbTransaction> seen) =>
        _store.ResultWriter.WriteAsync((_, transaction) =>
        {
            seen(transaction);
            return Task.FromResult<AttestationResultRecord?>(null);
        }, CancellationToken.None);

    // One generation for every record, as if each were read back after it was added: a round's write is fenced on it.
    private static AgentRecord Agent(string agentId, string address, string policy, int version) =>
        AgentRecord.New(agentId, address, policy, version) with { Generation = 7 };

    private static AgentRecord Attested(string agentId) =>
        Agent(agentId, "127.0.0.1:9002", "prod", 1) with { State = AgentStates.Attested, LastAttestation = Now, Attestations = 1 };

    private static AttestationResultRecord Result(string agentId, string? instance) =>
        new(0, agentId, Now, "affirming", null, null, 0, "prod:v1", "t", instance);

    private static AgentRecord PushAgent(string id) =>
        Agent(id, "", "prod", 1) with { Mode = AttestationModes.Push, PushDeadline = Now.AddSeconds(5) };

    private static StoredChallenge Challenge(string agentId, string challengeId) =>
        new(agentId, challengeId, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), [13], 0, Now, Now.AddSeconds(10), Consumed: false);

    private Task<AttestationResultRecord?> RecordPushAsync(string agentId, string challengeId) =>
        _store.RecordPushAttestationAsync(Attested(agentId) with { Mode = AttestationModes.Push }, Result(agentId, null), null, [], challengeId, Now.AddSeconds(20));
}

public sealed class SqliteVerifierBatchTests : VerifierBatchTests
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresVerifierBatchTests(PostgresFixture postgres) : VerifierBatchTests, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
