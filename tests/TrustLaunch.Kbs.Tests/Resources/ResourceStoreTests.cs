using TrustLaunch.Hosting.Storage;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests.Resources;

/// <summary>The broker's store, the same on every backend: run on SQLite and PostgreSQL below.</summary>
public abstract class ResourceStoreTests(WrapKeyFixture keys) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-kbs-store-").FullName;
    private ResourceStore _store = null!;

    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync() => _store = await ResourceStore.OpenAsync(await CreateLocationAsync(), _dataDirectory);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    private async Task PutAsync(string path, byte[] bytes, DateTimeOffset at)
    {
        var resourcePath = ResourcePath.Parse(path);
        await _store.PutAsync(resourcePath, SealedResource.Seal(resourcePath, bytes, keys.Wrapper), bytes.Length, at);
    }

    [Fact]
    public async Task PutGetListDelete_RoundTrip()
    {
        await PutAsync("b/key/1", [1, 2, 3], Now);
        await PutAsync("a/key/1", [4], Now.AddSeconds(1));
        await PutAsync("b/key/1", [5, 6], Now.AddSeconds(2));

        var opened = (await _store.GetAsync(ResourcePath.Parse("b/key/1")))!.Open(ResourcePath.Parse("b/key/1"), keys.Wrapper);
        var listed = await _store.ListAsync();
        var deleted = await _store.DeleteAsync(ResourcePath.Parse("a/key/1"));
        var again = await _store.DeleteAsync(ResourcePath.Parse("a/key/1"));

        Assert.Equal([5, 6], opened);
        Assert.Equal([new ResourceEntry("a/key/1", 1, Now.AddSeconds(1)), new ResourceEntry("b/key/1", 2, Now.AddSeconds(2))], listed);
        Assert.Equal((true, false), (deleted, again));
        Assert.Null(await _store.GetAsync(ResourcePath.Parse("a/key/1")));
    }

    [Fact]
    public async Task Create_PathHeld_FalseAndTheFirstKept()
    {
        var path = ResourcePath.Parse("img/kek/app");

        var first = await _store.CreateAsync(path, SealedResource.Seal(path, [1, 2], keys.Wrapper), 2, Now);
        var second = await _store.CreateAsync(path, SealedResource.Seal(path, [3], keys.Wrapper), 1, Now.AddSeconds(1));

        Assert.Equal((true, false), (first, second));
        Assert.Equal([1, 2], (await _store.GetAsync(path))!.Open(path, keys.Wrapper));
        Assert.Equal([new ResourceEntry("img/kek/app", 2, Now)], await _store.ListAsync());
    }

    [Fact]
    public async Task AddPolicy_EachAVersion_NewestServed()
    {
        Assert.Null(await _store.GetPolicyAsync());

        var first = await _store.AddPolicyAsync("""{"rules":[]}""", Now);
        var second = await _store.AddPolicyAsync("""{"rules":[{"resources":["a/b/c"]}]}""", Now.AddSeconds(1));

        Assert.Equal((1, 2), (first, second));
        Assert.Equal(new StoredResourcePolicy(2, """{"rules":[{"resources":["a/b/c"]}]}""", Now.AddSeconds(1)), await _store.GetPolicyAsync());
    }
}

public sealed class SqliteResourceStoreTests(WrapKeyFixture keys) : ResourceStoreTests(keys), IClassFixture<WrapKeyFixture>
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresResourceStoreTests(WrapKeyFixture keys, PostgresFixture postgres)
    : ResourceStoreTests(keys), IClassFixture<WrapKeyFixture>, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
