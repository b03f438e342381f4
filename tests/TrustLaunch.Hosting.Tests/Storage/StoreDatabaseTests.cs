using System.Data.Common;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Hosting.Tests.Storage;

/// <summary>What every backend's <see cref="StoreDatabase"/> must do; run on SQLite and PostgreSQL by the subclasses.</summary>
public abstract class StoreDatabaseTests : IAsyncLifetime
{
    // The same SQL on both backends (explicit ids: PostgreSQL's INTEGER PRIMARY KEY does not number rows itself).
    protected static readonly Migration[] Schema =
    [
        new(1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"),
        new(2, "item_size", "ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0"),
    ];

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Opens this test's database (the same one on every call) with <paramref name="migrations"/>.</summary>
    protected abstract Task<StoreDatabase> OpenAsync(IReadOnlyList<Migration> migrations);

    [Fact]
    public async Task OpenAsync_New_AppliesMigrationsInOrder()
    {
        await using var db = await OpenAsync(Schema);
        Assert.Equal(2, db.SchemaVersion);
        var versions = await db.ReadAsync(c => c.QueryAsync(null, "SELECT version, name FROM schema_version ORDER BY version",
            r => $"{r.GetInt32(0)}:{r.GetString(1)}", CancellationToken.None));
        Assert.Equal(["1:items", "2:item_size"], versions);
    }

    [Fact]
    public async Task OpenAsync_Reopened_AppliesOnlyNewMigrations()
    {
        await (await OpenAsync(Schema[..1])).DisposeAsync();
        await using var db = await OpenAsync(Schema);
        Assert.Equal(2, db.SchemaVersion);
        await using var again = await OpenAsync(Schema);
        Assert.Equal(2, again.SchemaVersion);
    }

    [Fact]
    public async Task OpenAsync_FailingMigration_RolledBackWhole()
    {
        Migration[] broken = [Schema[0], new(2, "broken", "ALTER TABLE items ADD COLUMN extra TEXT; CREATE TABLE nope (")];
        await Assert.ThrowsAnyAsync<DbException>(() => OpenAsync(broken));
        await using var db = await OpenAsync(Schema[..1]);
        Assert.Equal(1, db.SchemaVersion);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (1, 'x')", CancellationToken.None));
        var columns = await db.ReadAsync(async c =>
        {
            await using var command = c.Command(null, "SELECT * FROM items");
            await using var reader = await command.ExecuteReaderAsync();
            return reader.FieldCount;
        });
        Assert.Equal(2, columns);
    }

    [Fact]
    public async Task OpenAsync_DatabaseNewerThanCode_Refused()
    {
        await (await OpenAsync(Schema)).DisposeAsync();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => OpenAsync(Schema[..1]));
        Assert.Equal("the database schema is at version 2, newer than this trustlaunch knows (1): upgrade trustlaunch", e.Message);
    }

    [Fact]
    public async Task OpenAsync_VersionGap_Refused()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => OpenAsync([Schema[0], Schema[1] with { Version = 3 }]));
        Assert.Equal("migration 'item_size' has version 3, expected 2: versions are 1, 2, 3, … in order (Parameter 'migrations')", e.Message);
    }

    [Fact]
    public async Task WriteAsync_Throws_NothingCommitted()
    {
        await using var db = await OpenAsync(Schema);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => db.WriteAsync<int>(async (c, t) =>
        {
            await c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (1, 'half')", CancellationToken.None);
            throw new InvalidOperationException("crash mid-transaction");
        }));
        Assert.Equal("crash mid-transaction", e.Message);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO items (id, name) VALUES (2, 'whole')", CancellationToken.None));
        Assert.Equal(["whole"], await NamesAsync(db));
    }

    private const string InsertItem = "INSERT INTO items (id, name, size) VALUES (@id, @name, @size)";

    [Fact]
    public async Task WriteAsync_SameSqlAgain_WritesEachRunsValues()
    {
        await using var db = await OpenAsync(Schema);
        for (var i = 1; i <= 3; i++)
        {
            var id = i;
            await db.WriteAsync((c, t) => c.ExecuteAsync(t, InsertItem, CancellationToken.None, ("@id", id), ("@name", $"item {id}"), ("@size", id * 10)));
        }
        var rows = await db.ReadAsync(c => c.QueryAsync(null, "SELECT id, name, size FROM items ORDER BY id",
            r => $"{r.GetInt32(0)}:{r.GetString(1)}:{r.GetInt32(2)}", CancellationToken.None));
        Assert.Equal(["1:item 1:10", "2:item 2:20", "3:item 3:30"], rows);
    }

    [Fact]
    public async Task WriteAsync_AfterAStatementFailed_TheSameSqlCommitsNext()
    {
        await using var db = await OpenAsync(Schema);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, InsertItem, CancellationToken.None, ("@id", 1), ("@name", "first"), ("@size", 1)));
        await Assert.ThrowsAnyAsync<DbException>(() =>
            db.WriteAsync((c, t) => c.ExecuteAsync(t, InsertItem, CancellationToken.None, ("@id", 1), ("@name", "duplicate"), ("@size", 2))));
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, InsertItem, CancellationToken.None, ("@id", 2), ("@name", "second"), ("@size", 3)));
        Assert.Equal(["first", "second"], await NamesAsync(db));
    }

    [Fact]
    public async Task Timestamp_WrittenAndCompared_RoundTripsInTimeOrder()
    {
        await using var db = await OpenAsync(Schema);
        var early = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.FromHours(1));
        var late = early.AddSeconds(1.5);
        var (same, before) = await db.ReadAsync(async c => (
            await c.QuerySingleAsync(null, "SELECT @t", r => r.GetTimestamp(0), CancellationToken.None, ("@t", db.Timestamp(early))),
            await c.ScalarAsync(null, "SELECT 1 WHERE @a < @b", CancellationToken.None, ("@a", db.Timestamp(early)), ("@b", db.Timestamp(late)))));
        Assert.Equal(early, same);
        Assert.NotNull(before);
    }

    [Fact]
    public async Task CheckAsync_OpenDatabase_Ready()
    {
        await using var db = await OpenAsync(Schema);
        Assert.Equal("store", db.Name);
        Assert.Null(await db.CheckAsync(CancellationToken.None));
    }

    protected static Task<List<string>> NamesAsync(StoreDatabase db) =>
        db.ReadAsync(c => c.QueryAsync(null, "SELECT name FROM items ORDER BY id", r => r.GetString(0), CancellationToken.None));
}
