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
}
