using System.Buffers.Text;
using System.Text;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Storage;
using static TrustLaunch.Verifier.Tests.Storage.LeaseTestData;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>
/// Retention, the same on every backend: which results survive (exactly), in bounded batches, each agent's newest
/// always kept; dead instances and retired signing keys removed after their grace, never while a stored token or
/// notification still names the key.
/// </summary>
public abstract partial class VerifierRetentionTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-retention-").FullName;
    private VerifierStore _store = null!;

    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync()
    {
        _store = await VerifierStore.OpenAsync(await CreateLocationAsync(), _dataDirectory);
        foreach (var id in new[] { "a", "b", "c" })
            await _store.AddAgentAsync(AgentRecord.New(id, "127.0.0.1:9002", "prod", 1));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task PruneResults_MaxAge_OlderDeletedEachAgentsNewestKeptEvenWhenOld()
    {
        var a = await RecordAsync("a", -180, -120, -90);
        var b = await RecordAsync("b", -180, -61, -59, -1);
        await RecordAsync("c");

        var deleted = await _store.PruneResultsAsync(new ResultRetention(TimeSpan.FromHours(1), null), Now, 100);

        Assert.Equal(4, deleted);
        Assert.Equal([a[2]], await IdsAsync("a"));
        Assert.Equal([b[3], b[2]], await IdsAsync("b"));
        Assert.Empty(await IdsAsync("c"));
    }

    [Fact]
    public async Task PruneResults_PerAgent_EachAgentsNewestNKept()
    {
        var a = await RecordAsync("a", -50, -40, -30, -20, -10);
        var b = await RecordAsync("b", -50, -40);
        var c = await RecordAsync("c", -500);

        var deleted = await _store.PruneResultsAsync(new ResultRetention(null, 3), Now, 100);

        Assert.Equal(2, deleted);
        Assert.Equal([a[4], a[3], a[2]], await IdsAsync("a"));
        Assert.Equal([b[1], b[0]], await IdsAsync("b"));
        Assert.Equal([c[0]], await IdsAsync("c"));
    }

    [Fact]
    public async Task PruneResults_AgeAndCount_KeptOnlyWhenBothHoldNewestAlways()
    {
        var a = await RecordAsync("a", -30, -20, -10, -5);
        var b = await RecordAsync("b", -200, -100);

        var deleted = await _store.PruneResultsAsync(new ResultRetention(TimeSpan.FromMinutes(15), 2), Now, 100);

        Assert.Equal(3, deleted);
        Assert.Equal([a[3], a[2]], await IdsAsync("a"));
        Assert.Equal([b[1]], await IdsAsync("b"));
    }

    [Fact]
    public async Task PruneResults_SmallBatch_OldestFirstAtMostABatchPerCall()
    {
        var a = await RecordAsync("a", -100, -90, -80, -70, -60, -1);

        var first = await _store.PruneResultsAsync(new ResultRetention(TimeSpan.FromMinutes(30), null), Now, 2);
        var afterFirst = await IdsAsync("a");
        var rest = new List<int>();
        int deleted;
        while ((deleted = await _store.PruneResultsAsync(new ResultRetention(TimeSpan.FromMinutes(30), null), Now, 2)) > 0)
            rest.Add(deleted);

        Assert.Equal(2, first);
        Assert.Equal([a[5], a[4], a[3], a[2]], afterFirst);
        Assert.Equal([2, 1], rest);
        Assert.Equal([a[5]], await IdsAsync("a"));
    }

    [Fact]
    public async Task PruneResults_KeepAll_NothingDeleted()
    {
        var a = await RecordAsync("a", -100_000, -1);

        Assert.Equal(0, await _store.PruneResultsAsync(ResultRetention.KeepAll, Now, 100));
        Assert.Equal([a[1], a[0]], await IdsAsync("a"));
    }

    /// <summary>One result for <paramref name="agentId"/> per offset (minutes from <see cref="LeaseTestData.Now"/>), in order; their ids.</summary>
    private async Task<long[]> RecordAsync(string agentId, params int[] minutes) =>
        await RecordAsync(agentId, null, Token("kid-a"), minutes);

    private async Task<long[]> RecordAsync(string agentId, string? instance, string token, params int[] minutes)
    {
        var ids = new List<long>();
        foreach (var m in minutes)
        {
            var agent = (await _store.GetAgentAsync(agentId))!;
            var saved = await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, agentId, Now.AddMinutes(m), "affirming", null, null, 0,
                "prod:v1", token, instance), null, [], null);
            ids.Add(saved!.Id);
        }
        return [.. ids];
    }

    private async Task<long[]> IdsAsync(string agentId) => [.. (await _store.GetResultsAsync(agentId, 100)).Select(r => r.Id)];

    /// <summary>A compact JWS naming <paramref name="keyId"/> (signature not checked by the store).</summary>
    private static string Token(string keyId) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"alg":"ES256","kid":"{{keyId}}","typ":"JWT"}""")) + "." +
        Base64Url.EncodeToString("{}"u8) + ".c2ln";
}

public sealed class SqliteVerifierRetentionTests : VerifierRetentionTests
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresVerifierRetentionTests(PostgresFixture postgres) : VerifierRetentionTests, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
