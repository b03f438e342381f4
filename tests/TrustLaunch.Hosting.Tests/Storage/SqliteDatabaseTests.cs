using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Hosting.Tests.Storage;

public sealed class SqliteDatabaseTests : IDisposable
{
    private static readonly Migration[] Schema =
    [
        new(1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"),
        new(2, "item_size", "ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0"),
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-sqlite-").FullName;

    private string DbPath => Path.Combine(_dir, "data", "test.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task OpenAsync_NewFile_AppliesMigrationsInOrderWithWalAndFullSync()
    {
        var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        Assert.Equal(2, db.SchemaVersion);
        var (journal, sync, busy, versions) = await db.ReadAsync(async c => (
            await ScalarAsync(c, "PRAGMA journal_mode"),
            await ScalarAsync(c, "PRAGMA synchronous"),
            await ScalarAsync(c, "PRAGMA busy_timeout"),
            await ScalarAsync(c, "SELECT group_concat(version || ':' || name, ',') FROM schema_version")));
        Assert.Equal("wal", journal);
        Assert.Equal("2", sync); // FULL
        Assert.Equal("5000", busy);
        Assert.Equal("1:items,2:item_size", versions);
    }

    [Fact]
    public async Task OpenAsync_Reopened_AppliesOnlyNewMigrations()
    {
        await SqliteDatabase.OpenAsync(DbPath, Schema[..1]);
        var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        Assert.Equal(2, db.SchemaVersion);
        var again = await SqliteDatabase.OpenAsync(DbPath, Schema);
        Assert.Equal(2, again.SchemaVersion);
    }

    [Fact]
    public async Task OpenAsync_FailingMigration_RolledBackWhole()
    {
        Migration[] broken = [Schema[0], new(2, "broken", "ALTER TABLE items ADD COLUMN extra TEXT; CREATE TABLE nope (")];
        await Assert.ThrowsAsync<SqliteException>(() => SqliteDatabase.OpenAsync(DbPath, broken));
        var db = await SqliteDatabase.OpenAsync(DbPath, Schema[..1]);
        Assert.Equal(1, db.SchemaVersion);
        var columns = await db.ReadAsync(c => ScalarAsync(c, "SELECT group_concat(name, ',') FROM pragma_table_info('items')"));
        Assert.Equal("id,name", columns);
    }

    [Fact]
    public async Task OpenAsync_DatabaseNewerThanCode_Refused()
    {
        await SqliteDatabase.OpenAsync(DbPath, Schema);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteDatabase.OpenAsync(DbPath, Schema[..1]));
        Assert.Equal("the database schema is at version 2, newer than this trustlaunch knows (1): upgrade trustlaunch", e.Message);
    }

    [Fact]
    public async Task OpenAsync_VersionGap_Refused()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => SqliteDatabase.OpenAsync(DbPath, [Schema[0], Schema[1] with { Version = 3 }]));
        Assert.StartsWith("migration 'item_size' has version 3, expected 2", e.Message);
    }

    [Fact]
    public async Task WriteAsync_Throws_NothingCommitted()
    {
        var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        await Assert.ThrowsAsync<InvalidOperationException>(() => db.WriteAsync<int>(async (c, t) =>
        {
            await ExecuteAsync(c, t, "INSERT INTO items (name) VALUES ('half')");
            throw new InvalidOperationException("crash mid-transaction");
        }));
        await db.WriteAsync((c, t) => ExecuteAsync(c, t, "INSERT INTO items (name) VALUES ('whole')"));
        Assert.Equal("whole", await db.ReadAsync(c => ScalarAsync(c, "SELECT group_concat(name) FROM items")));
    }

    [Fact]
    public async Task CheckAsync_OpenDatabase_Ready()
    {
        var db = await SqliteDatabase.OpenAsync(DbPath, Schema);
        Assert.Equal("store", db.Name);
        Assert.Null(await db.CheckAsync(CancellationToken.None));
    }

    private static async Task<string?> ScalarAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }
}
