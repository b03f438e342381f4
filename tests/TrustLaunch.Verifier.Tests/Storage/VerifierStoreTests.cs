using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>The verifier store's behaviour, the same on every backend: run on SQLite and PostgreSQL below.</summary>
public abstract partial class VerifierStoreTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-store-").FullName;
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-26T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private VerifierStore _store = null!;

    /// <summary>A new empty store location for one test.</summary>
    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync() => _store = await VerifierStore.OpenAsync(await CreateLocationAsync(), _dataDirectory);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task ListAgents_SeveralWithNullableColumnsSet_RoundTripInIdOrder()
    {
        var b = AgentRecord.New("b", "127.0.0.1:9003", "prod", 2) with
        {
            Paused = true,
            LastAttestation = Now,
            LastSuccess = Now.AddSeconds(-1),
            EventsVerified = long.MaxValue,
            ConsecutiveFaults = 2,
        };
        await _store.AddAgentAsync(b);
        await _store.AddAgentAsync(AgentRecord.New("a", "127.0.0.1:9002", "prod", 1));

        var agents = await _store.ListAgentsAsync();

        Assert.Equal(["a", "b"], agents.Select(a => a.AgentId));
        var reloaded = agents[1];
        Assert.Equal((true, Now, Now.AddSeconds(-1), long.MaxValue, 2, 2), (reloaded.Paused, reloaded.LastAttestation, reloaded.LastSuccess,
            reloaded.EventsVerified, reloaded.ConsecutiveFaults, reloaded.PolicyVersion));
        Assert.Null(agents[0].Appraisal.LastClock);
        Assert.Empty(agents[0].Appraisal.VerifiedImages);
    }

    [Fact]
    public async Task RecordFault_FailedAgent_StateKept()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1) with { State = AgentStates.Failed });
        await _store.AddAgentAsync(AgentRecord.New("a2", "127.0.0.1:9003", "prod", 1));

        await _store.RecordFaultAsync((await _store.GetAgentAsync("a1"))!, 3, AgentStates.Unreachable, "refused", Now, null);
        await _store.RecordFaultAsync((await _store.GetAgentAsync("a2"))!, 3, AgentStates.Unreachable, "refused", Now, null);

        Assert.Equal(AgentStates.Failed, (await _store.GetAgentAsync("a1"))!.State);
        var a2 = (await _store.GetAgentAsync("a2"))!;
        Assert.Equal((AgentStates.Unreachable, "refused", 3, Now), (a2.State, a2.FailureReason, a2.ConsecutiveFaults, a2.LastAttestation));
    }

    [Fact]
    public async Task RecordAttestation_PausedAndResumedSinceTheRoundReadIt_NothingWritten()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var read = (await _store.GetAgentAsync("a1"))!;
        await _store.SetPausedAsync("a1", true);
        await _store.SetPausedAsync("a1", false);

        var saved = await _store.RecordAttestationAsync(read with { State = AgentStates.Attested, Attestations = 1 },
            new AttestationResultRecord(0, "a1", Now, "affirming", null, null, 0, "prod:v1", "t"), null, [], null);
        var faulted = await _store.RecordFaultAsync(read, 1, AgentStates.Unreachable, "refused", Now, null);

        Assert.Null(saved);
        Assert.False(faulted);
        Assert.Empty(await _store.GetResultsAsync("a1", 10));
        var stored = (await _store.GetAgentAsync("a1"))!;
        Assert.Equal((AgentStates.Registered, 0L, 0), (stored.State, stored.Attestations, stored.ConsecutiveFaults));
        Assert.NotEqual(read.Generation, stored.Generation);
    }

    [Fact]
    public async Task RecordAttestation_RemovedAndAddedAgainSinceTheRoundReadIt_NewRowKeepsItsFreshState()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var read = (await _store.GetAgentAsync("a1"))!;
        await _store.RemoveAgentAsync("a1");
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var old = read with { State = AgentStates.Attested, Attestations = 9, Appraisal = read.Appraisal with { NextRecNum = 50 } };

        var saved = await _store.RecordAttestationAsync(old, new AttestationResultRecord(0, "a1", Now, "affirming", null, null, 50, "prod:v1", "t"),
            null, [], null);

        Assert.Null(saved);
        var stored = (await _store.GetAgentAsync("a1"))!;
        Assert.Equal((AgentStates.Registered, 0L, 0L), (stored.State, stored.Attestations, stored.Appraisal.NextRecNum));
    }

    [Fact]
    public async Task ChangePolicy_NewGeneration_TheRoundThatReadTheOldOneWritesNothing()
    {
        await _store.AddPolicyAsync(TestPolicies.Document(), Now);
        await _store.AddPolicyAsync(TestPolicies.Document("other"), Now);
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var read = (await _store.GetAgentAsync("a1"))!;

        var changed = await _store.ChangePolicyAsync("a1", (await _store.GetPolicyAsync("other"))!, Now);
        var back = await _store.ChangePolicyAsync("a1", (await _store.GetPolicyAsync("prod"))!, Now);

        Assert.Equal(back!.Generation, (await _store.GetAgentAsync("a1"))!.Generation);
        Assert.NotEqual(read.Generation, changed!.Generation);
        Assert.Null(await _store.RecordAttestationAsync(read with { State = AgentStates.Attested }, new AttestationResultRecord(0, "a1", Now, "affirming", null,
            null, 0, "prod:v1", "t"), null, [], null));
    }

    [Fact]
    public async Task RecordFault_WithNotification_QueuedForEveryUrlOnlyWhenWritten()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1) with { State = AgentStates.Failed });
        await _store.AddAgentAsync(AgentRecord.New("a2", "127.0.0.1:9003", "prod", 1));
        string[] urls = ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"];

        await _store.RecordFaultAsync((await _store.GetAgentAsync("a1"))!, 3, AgentStates.Unreachable, "refused", Now, null, "notice-a1", urls);
        await _store.RecordFaultAsync((await _store.GetAgentAsync("a2"))!, 3, AgentStates.Unreachable, "refused", Now, null, "notice-a2", urls);

        var queued = await _store.GetDueNotificationsAsync(Now, 10);
        Assert.Equal([(urls[0], "notice-a2"), (urls[1], "notice-a2")], queued.Select(e => (e.Url, e.Body)));
    }

    [Fact]
    public async Task AddPolicy_SameNameTwice_VersionsOneAndTwoLatestListed()
    {
        await _store.AddPolicyAsync(TestPolicies.Document(), Now);
        var second = await _store.AddPolicyAsync(TestPolicies.Document(digests: [QuotingDigest]), Now);

        Assert.Equal(2, second.Version);
        Assert.Equal(1, (await _store.GetPolicyAsync("prod", 1))!.Version);
        Assert.Equal([QuotingDigest], (await _store.GetPolicyAsync("prod"))!.Policy.AllowedImageDigests);
        Assert.Equal(2, Assert.Single(await _store.ListPoliciesAsync()).Version);
    }

    [Fact]
    public async Task AddPolicy_EightAtOnce_VersionsOneToEight()
    {
        var saved = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _store.AddPolicyAsync(TestPolicies.Document(), Now)));

        Assert.Equal(Enumerable.Range(1, 8), saved.Select(p => p.Version).Order());
        Assert.Equal(8, (await _store.GetPolicyAsync("prod"))!.Version);
    }

    [Fact]
    public async Task RemovePolicy_UsedByAgent_InUseThenRemovedAfterAgent()
    {
        await _store.AddPolicyAsync(TestPolicies.Document(), Now);
        Assert.True(await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1)));

        Assert.Equal(PolicyRemoval.InUse, await _store.RemovePolicyAsync("prod"));
        Assert.True(await _store.RemoveAgentAsync("a1"));
        Assert.Equal(PolicyRemoval.Removed, await _store.RemovePolicyAsync("prod"));
        Assert.Equal(PolicyRemoval.NotFound, await _store.RemovePolicyAsync("prod"));
    }

    [Fact]
    public async Task AddAgent_Twice_SecondRefused()
    {
        Assert.True(await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1)));
        Assert.False(await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9003", "prod", 1)));
    }

    [Fact]
    public async Task RecordAttestation_StateResultAndNotification_CommittedTogetherAndRoundTrip()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var appraisal = new AppraisalState(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 7,
            new TrustLaunch.Tpm.Structures.TpmClockInfo(123456, 4, 1, true), 2, new HashSet<string> { QuotingDigest }, new Dictionary<string, string> { ["web-1"] = QuotingDigest, ["db-1"] = QuotingDigest });
        var agent = (await _store.GetAgentAsync("a1"))! with
        {
            State = AgentStates.Failed,
            Appraisal = appraisal,
            FailureReason = "event 6 (ContainerCreated): no",
            FailedEventIndex = 6,
            Attestations = 3,
        };
        var result = new AttestationResultRecord(0, "a1", Now, "contraindicated", agent.FailureReason, 6, 8, "prod:v1", "token");

        var saved = await _store.RecordAttestationAsync(agent, result, "jws", ["http://127.0.0.1:1/hook", "http://127.0.0.1:2/hook"], null);

        Assert.True(saved!.Id > 0);
        var reloaded = (await _store.GetAgentAsync("a1"))!;
        Assert.Equal(AgentStates.Failed, reloaded.State);
        Assert.Equal(appraisal.LaunchPcrValue, reloaded.Appraisal.LaunchPcrValue);
        Assert.Equal((7L, 2L, 4u, 123456ul), (reloaded.Appraisal.NextRecNum, reloaded.Appraisal.BootCount, reloaded.Appraisal.LastClock!.ResetCount, reloaded.Appraisal.LastClock.Clock));
        Assert.Equal([QuotingDigest], reloaded.Appraisal.VerifiedImages);
        Assert.Equal([("db-1", QuotingDigest), ("web-1", QuotingDigest)], reloaded.Appraisal.CreatedContainers.Select(c => (c.Key, c.Value)).Order());
        Assert.Equal(saved, Assert.Single(await _store.GetResultsAsync("a1", 10)));
        Assert.Equal(2, (await _store.GetDueNotificationsAsync(Now, 10)).Count);
    }

    [Fact]
    public async Task RecordAttestation_WithLaunches_ReadBackWithTheirResultOnly()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var agent = (await _store.GetAgentAsync("a1"))!;
        VerifiedLaunch[] launches = [new(4, "web", "sha256:" + new string('a', 64), "registry/web:1", "pod-uid", "shop"), new(6, "job", "sha256:" + new string('b', 64), "", "", "")];

        await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, "a1", Now, "affirming", null, null, 7, "prod:v1", "t", Launches: launches), null, [], null);
        await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, "a1", Now.AddSeconds(1), "affirming", null, null, 7, "prod:v1", "t"), null, [], null);

        var results = await _store.GetResultsAsync("a1", 10);
        Assert.Null(results[0].Launches);
        Assert.Equal(launches, results[1].Launches!);
    }

    [Fact]
    public async Task RecordAttestation_AgentRemovedMeanwhile_NothingWritten()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var agent = (await _store.GetAgentAsync("a1"))!;
        await _store.RemoveAgentAsync("a1");

        var saved = await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, "a1", Now, "affirming", null, null, 0, "prod:v1", "t"), "jws", ["http://x/"], null);

        Assert.Null(saved);
        Assert.Empty(await _store.GetResultsAsync("a1", 10));
        Assert.Empty(await _store.GetDueNotificationsAsync(Now, 10));
    }

    [Fact]
    public async Task SetPaused_ResumeFailedAgent_AttestingWithReasonCleared()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1) with { State = AgentStates.Failed, FailureReason = "bad", FailedEventIndex = 3 });

        var paused = await _store.SetPausedAsync("a1", true);
        var resumed = await _store.SetPausedAsync("a1", false);

        Assert.True(paused!.Paused);
        Assert.Equal((false, AgentStates.Attesting, null, null), (resumed!.Paused, resumed.State, resumed.FailureReason, resumed.FailedEventIndex));
        Assert.Null(await _store.SetPausedAsync("nobody", true));
    }

    [Fact]
    public async Task GetResults_Last_NewestFirst()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        var agent = (await _store.GetAgentAsync("a1"))!;
        for (var i = 0; i < 5; i++)
            await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, "a1", Now.AddSeconds(i), "affirming", null, null, i, "prod:v1", "t"), null, [], null);

        var last = await _store.GetResultsAsync("a1", 2);

        Assert.Equal([4L, 3L], last.Select(r => r.LogLength));
    }

    [Fact]
    public async Task MarkAttemptFailed_NotDueUntilNextAttempt()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        await _store.RecordAttestationAsync((await _store.GetAgentAsync("a1"))!, new AttestationResultRecord(0, "a1", Now, "contraindicated", "x", null, 0, "p:v1", "t"), "jws", ["http://x/"], null);
        var entry = Assert.Single(await _store.GetDueNotificationsAsync(Now, 10));

        await _store.MarkAttemptFailedAsync(entry.Id, "answered 500", Now, Now.AddSeconds(2), maxAttempts: 20);

        Assert.Empty(await _store.GetDueNotificationsAsync(Now.AddSeconds(1), 10));
        Assert.Equal(1, Assert.Single(await _store.GetDueNotificationsAsync(Now.AddSeconds(2), 10)).Attempts);
        await _store.MarkDeliveredAsync(entry.Id);
        Assert.Empty(await _store.GetDueNotificationsAsync(Now.AddHours(1), 10));
    }

    private static readonly string QuotingDigest = "sha256:" + new string('d', 64);
}

public sealed class SqliteVerifierStoreTests : VerifierStoreTests
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresVerifierStoreTests(PostgresFixture postgres) : VerifierStoreTests, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
