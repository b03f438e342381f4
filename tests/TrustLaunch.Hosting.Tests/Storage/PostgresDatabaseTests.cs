using System.Globalization;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;

namespace TrustLaunch.Hosting.Tests.Storage;

/// <summary>The store contract on a real PostgreSQL server (one per class, a new database per test), plus what only a
/// shared server raises: instances migrating at once, services sharing a database, concurrent writers, a crash.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresDatabaseTests(PostgresFixture postgres) : StoreDatabaseTests, IClassFixture<PostgresFixture>
{
    private const string TestSchema = "tests";
    private string _database = null!;

    private string ConnectionString => StoreLocation.Parse(postgres.Url(_database)).Postgres!.ConnectionString;

    public override async Task InitializeAsync() => _database = await postgres.CreateDatabaseAsync();

    protected override async Task<StoreDatabase> OpenAsync(IReadOnlyList<Migration> migrations) =>
        await PostgresDatabase.OpenAsync(ConnectionString, TestSchema, migrations);

    [Fact]
    public async Task OpenAsync_FourInstancesAtOnce_EachMigrationAppliedOnce()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAsync(Schema)));

        Assert.All(opened, db => Assert.Equal(2, db.SchemaVersion));
        Assert.Equal(2L, await opened[0].ReadAsync(c => c.ScalarAsync(null, "SELECT COUNT(*) FROM schema_version", CancellationToken.None)));
        foreach (var db in opened)
            await db.DisposeAsync();
    }

    [Fact]
    public async Task OpenAsync_TwoSchemasInOneDatabase_KeptApart()
    {
        await using var registrar = await PostgresDatabase.OpenAsync(ConnectionString, "registrar", Schema);
        await using var verifier = await PostgresDatabase.OpenAsync(ConnectionString, "verifier", Schema[..1]);

        await registrar.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (1, 'r')", CancellationToken.None));

        Assert.Equal((2, 1), (registrar.SchemaVersion, verifier.SchemaVersion));
        Assert.Equal(["r"], await NamesAsync(registrar));
        Assert.Empty(await NamesAsync(verifier));
    }

    [Fact]
    public async Task OpenAsync_SchemaNotPlain_Refused()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PostgresDatabase.OpenAsync(ConnectionString, "x; DROP", Schema));
        Assert.Equal("'x; DROP' is not a plain schema name (lower-case letters, digits, _) (Parameter 'schema')", e.Message);
    }

    [Fact]
    public async Task WriteAsync_ConcurrentReadModifyWrites_NoUpdateLost()
    {
        await using var db = await OpenAsync(Schema);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name, size) VALUES (1, 'counter', 0)", CancellationToken.None));

        // Each reads the size, then writes it back plus one: SERIALIZABLE aborts the losers, WriteAsync reruns them.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => db.WriteAsync(async (c, t) =>
        {
            var size = Convert.ToInt32(await c.ScalarAsync(t, "SELECT size FROM items WHERE id = 1", CancellationToken.None), CultureInfo.InvariantCulture);
            return await c.ExecuteAsync(t, "UPDATE items SET size = @size WHERE id = 1", CancellationToken.None, ("@size", size + 1));
        })));

        Assert.Equal(8, await db.ReadAsync(c => c.QuerySingleAsync(null, "SELECT size FROM items WHERE id = 1", r => r.GetInt32(0), CancellationToken.None)));
    }

    [Fact]
    public async Task OpenAsync_WrongPassword_RefusedNamingTheStoreNotThePassword()
    {
        var url = postgres.Url(_database).Replace(postgres.ServicePassword, "wrong", StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
            PostgresDatabase.OpenAsync(StoreLocation.Parse(url).Postgres!.ConnectionString, TestSchema, Schema));

        Assert.Equal($"cannot connect to the PostgreSQL store {postgres.Url(_database, withPassword: false)}: "
            + "28P01: password authentication failed for user \"trustlaunch\"", e.Message);
    }

    [Fact]
    public async Task Store_ServerKilledDashNine_CommittedStateSurvivesAndPoolReconnects()
    {
        await using var db = await OpenAsync(Schema);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (1, 'committed')", CancellationToken.None));
        Assert.Null(await db.CheckAsync(CancellationToken.None)); // leaves a pooled connection the crash breaks

        await postgres.KillAsync();
        Assert.StartsWith($"cannot connect to the PostgreSQL store {postgres.Url(_database, withPassword: false)}: ", await db.CheckAsync(CancellationToken.None));
        await postgres.StartAsync();

        Assert.Null(await db.CheckAsync(CancellationToken.None));
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (2, 'after')", CancellationToken.None));
        Assert.Equal(["committed", "after"], await NamesAsync(db));
    }
}
