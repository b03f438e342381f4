namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// One service's store schema: its <paramref name="Name"/> (the SQLite file <c>NAME.db</c> in the data directory, or
/// the PostgreSQL schema <c>NAME</c>, so services can share a database) and its migrations for each backend.
/// </summary>
public sealed record StoreSchema(string Name, IReadOnlyList<Migration> Sqlite, IReadOnlyList<Migration> Postgres)
{
    public string SqliteFileName => Name + ".db";
}
