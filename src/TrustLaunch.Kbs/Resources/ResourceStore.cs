using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Kbs.Resources;

/// <summary>A resource's listing entry (never its bytes).</summary>
public sealed record ResourceEntry(string Path, long Size, DateTimeOffset Updated);

/// <summary>A version of the resource policy as stored: its JSON text as given, and when it was stored.</summary>
public sealed record StoredResourcePolicy(int Version, string Document, DateTimeOffset Created);

/// <summary>
/// The broker's resources (sealed, <see cref="SealedResource"/>) and its resource policy versions, in
/// <c>kbs.db</c> in the data directory or the <c>kbs</c> schema of a PostgreSQL database. Every write is one
/// committed transaction: a kill -9 keeps each resource whole, before or after.
/// </summary>
public sealed class ResourceStore(StoreDatabase database) : IAsyncDisposable
{
    public static async Task<ResourceStore> OpenAsync(StoreLocation location, string dataDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new(await location.OpenAsync(dataDirectory, ResourceMigrations.Schema, cancellationToken).ConfigureAwait(false));
    }

    public StoreDatabase Database => database;

    public ValueTask DisposeAsync() => database.DisposeAsync();

    public Task PutAsync(ResourcePath path, SealedResource sealedResource, long size, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(sealedResource);
        return database.WriteAsync(async (connection, transaction) => await connection.ExecuteAsync(transaction, """
            INSERT INTO resources (path, wrapped_key, iv, ciphertext, tag, size, updated_at) VALUES (@path, @key, @iv, @ct, @tag, @size, @at)
            ON CONFLICT (path) DO UPDATE SET wrapped_key = excluded.wrapped_key, iv = excluded.iv, ciphertext = excluded.ciphertext,
                tag = excluded.tag, size = excluded.size, updated_at = excluded.updated_at
            """, cancellationToken, ("@path", path.ToString()), ("@key", sealedResource.WrappedKey), ("@iv", sealedResource.Iv),
            ("@ct", sealedResource.Ciphertext), ("@tag", sealedResource.Tag), ("@size", size), ("@at", database.Timestamp(now))).ConfigureAwait(false),
            cancellationToken);
    }

    /// <summary>Stores the resource only if <paramref name="path"/> holds none; false when one was there (left as it was).</summary>
    public Task<bool> CreateAsync(ResourcePath path, SealedResource sealedResource, long size, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(sealedResource);
        return database.WriteAsync(async (connection, transaction) => await connection.ExecuteAsync(transaction, """
            INSERT INTO resources (path, wrapped_key, iv, ciphertext, tag, size, updated_at) VALUES (@path, @key, @iv, @ct, @tag, @size, @at)
            ON CONFLICT (path) DO NOTHING
            """, cancellationToken, ("@path", path.ToString()), ("@key", sealedResource.WrappedKey), ("@iv", sealedResource.Iv),
            ("@ct", sealedResource.Ciphertext), ("@tag", sealedResource.Tag), ("@size", size), ("@at", database.Timestamp(now))).ConfigureAwait(false) == 1,
            cancellationToken);
    }

    public Task<SealedResource?> GetAsync(ResourcePath path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return database.ReadAsync(connection => connection.QuerySingleAsync(null,
            "SELECT wrapped_key, iv, ciphertext, tag FROM resources WHERE path = @path",
            r => new SealedResource(r.GetBlob(0), r.GetBlob(1), r.GetBlob(2), r.GetBlob(3)), cancellationToken, ("@path", path.ToString())),
            cancellationToken);
    }

    public Task<IReadOnlyList<ResourceEntry>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<ResourceEntry>>(async connection => await connection.QueryAsync(null,
            "SELECT path, size, updated_at FROM resources ORDER BY path",
            r => new ResourceEntry(r.GetString(0), r.GetInt64(1), r.GetTimestamp(2)), cancellationToken).ConfigureAwait(false), cancellationToken);

    /// <summary>Returns whether there was such a resource.</summary>
    public Task<bool> DeleteAsync(ResourcePath path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return database.WriteAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(transaction, "DELETE FROM resources WHERE path = @path", cancellationToken, ("@path", path.ToString()))
                .ConfigureAwait(false) > 0, cancellationToken);
    }

    /// <summary>Stores <paramref name="document"/> as the next policy version (1 for the first); returns it.</summary>
    public Task<int> AddPolicyAsync(string document, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var version = Convert.ToInt32(await connection.ScalarAsync(transaction, "SELECT COALESCE(MAX(version), 0) + 1 FROM resource_policies",
                cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            await connection.ExecuteAsync(transaction, "INSERT INTO resource_policies (version, document, created_at) VALUES (@v, @doc, @at)",
                cancellationToken, ("@v", version), ("@doc", document), ("@at", database.Timestamp(now))).ConfigureAwait(false);
            return version;
        }, cancellationToken);

    /// <summary>The newest policy version, or null when none was ever stored (everything is denied).</summary>
    public Task<StoredResourcePolicy?> GetPolicyAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync(connection => connection.QuerySingleAsync(null,
            "SELECT version, document, created_at FROM resource_policies ORDER BY version DESC LIMIT 1",
            r => new StoredResourcePolicy(r.GetInt32(0), r.GetString(1), r.GetTimestamp(2)), cancellationToken), cancellationToken);
}
