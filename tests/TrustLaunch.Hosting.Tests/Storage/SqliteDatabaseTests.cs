using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Hosting.Tests.Storage;

public sealed class SqliteDatabaseTests : StoreDatabaseTests
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-sqlite-").FullName;

    private string DbPath => Path.Combine(_dir, "data", "test.db");

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    protected override async Task<StoreDatabase> OpenAsync(IReadOnlyList<Migration> migrations) => await SqliteDatabase.OpenAsync(DbPath, migrations);

    [Fact]
    public async Task OpenAsync_NewFile_WalFullSyncAndBusyTimeout()
    {
        await using var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        var (journal, sync, busy) = await db.ReadAsync(async c => (
            await c.ScalarAsync(null, "PRAGMA journal_mode", CancellationToken.None),
            await c.ScalarAsync(null, "PRAGMA synchronous", CancellationToken.None),
            await c.ScalarAsync(null, "PRAGMA busy_timeout", CancellationToken.None)));
        Assert.Equal("wal", journal);
        Assert.Equal(2L, sync); // FULL
        Assert.Equal(5000L, busy);
        Assert.Equal(DbPath, db.Location);
    }

    [Fact]
    public async Task WriteAsync_KeptStatementAfterAnotherConnectionAlteredTheTable_RunsOnTheNewSchema()
    {
        await using var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        const string Insert = "INSERT INTO items (id, name) VALUES (@id, @name)";
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, Insert, CancellationToken.None, ("@id", 1), ("@name", "before")));
        await using (var other = await db.OpenConnectionAsync())
            await other.ExecuteAsync(null, "ALTER TABLE items ADD COLUMN colour TEXT NOT NULL DEFAULT 'red'", CancellationToken.None);
        await db.WriteAsync((c, t) => c.ExecuteAsync(t, Insert, CancellationToken.None, ("@id", 2), ("@name", "after")));
        var rows = await db.ReadAsync(c => c.QueryAsync(null, "SELECT name, colour FROM items ORDER BY id", r => $"{r.GetString(0)}:{r.GetString(1)}", CancellationToken.None));
        Assert.Equal(["before:red", "after:red"], rows);
    }

    [Fact]
    public async Task WriteAsync_ManyAtOnce_TakeTurnsAndAllCommit()
    {
        await using var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        await Task.WhenAll(Enumerable.Range(1, 40).Select(id => Task.Run(() => db.WriteAsync(async (c, t) =>
        {
            var before = (long)(await c.ScalarAsync(t, "SELECT COUNT(*) FROM items", CancellationToken.None))!;
            await Task.Yield();
            return await c.ExecuteAsync(t, "INSERT INTO items (id, name, size) VALUES (@id, @name, @size)", CancellationToken.None,
                ("@id", id), ("@name", $"n{id}"), ("@size", before));
        }))));
        // Each write saw every earlier one committed: the counts it read are 0..39, each once.
        var sizes = await db.ReadAsync(c => c.QueryAsync(null, "SELECT size FROM items ORDER BY size", r => r.GetInt64(0), CancellationToken.None));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), sizes);
    }
}
