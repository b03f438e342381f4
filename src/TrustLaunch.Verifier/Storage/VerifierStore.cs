using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// <see cref="IVerifierStore"/> on a <see cref="StoreDatabase"/>: <c>verifier.db</c> in the data directory (WAL,
/// synchronous=FULL), or the <c>verifier</c> schema of a PostgreSQL database. The same SQL on both.
/// </summary>
public sealed partial class VerifierStore(StoreDatabase database, int resultWriters, int resultQueue) : IVerifierStore, IAsyncDisposable
{
    /// <summary>Attestation results committed at once: enough to share a commit under load, few enough to keep it short.</summary>
    public const int MaxResultBatch = 128;

    /// <summary>Attestation results waiting for a commit before further ones wait for room: a few full batches.</summary>
    public const int MaxQueuedResults = 8 * MaxResultBatch;

    private readonly BatchWriter<AttestationResultRecord?> _results = new(database, MaxResultBatch, resultQueue, resultWriters);

    public VerifierStore(StoreDatabase database) : this(database, database.ConcurrentWriters, MaxQueuedResults)
    {
    }

    public int QueuedResults => _results.Queued;

    public StoreDatabase Database { get; } = database;

    /// <summary>The group-commit queue every attestation result goes through (tests hold it to form a batch).</summary>
    internal BatchWriter<AttestationResultRecord?> ResultWriter => _results;

    public static async Task<VerifierStore> OpenAsync(StoreLocation location, string dataDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new(await location.OpenAsync(dataDirectory, VerifierMigrations.Schema, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// As <see cref="OpenAsync(StoreLocation, string, CancellationToken)"/>, results committed by
    /// <paramref name="resultWriters"/> batches at a time, at most <paramref name="resultQueue"/> waiting.
    /// </summary>
    internal static async Task<VerifierStore> OpenAsync(StoreLocation location, string dataDirectory, int resultWriters, int resultQueue = MaxQueuedResults)
    {
        ArgumentNullException.ThrowIfNull(location);
        return new(await location.OpenAsync(dataDirectory, VerifierMigrations.Schema).ConfigureAwait(false), resultWriters, resultQueue);
    }

    public async ValueTask DisposeAsync()
    {
        await _results.DisposeAsync().ConfigureAwait(false);
        await Database.DisposeAsync().ConfigureAwait(false);
    }

    public Task<StoredPolicy> AddPolicyAsync(PolicyDocument policy, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            var version = Convert.ToInt32(await connection.ScalarAsync(transaction,
                "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE name = @name", cancellationToken, ("@name", policy.Name)).ConfigureAwait(false),
                CultureInfo.InvariantCulture);
            await connection.ExecuteAsync(transaction,
                "INSERT INTO policies (name, version, document, created_at) VALUES (@name, @version, @document, @at)", cancellationToken,
                ("@name", policy.Name), ("@version", version),
                ("@document", JsonSerializer.Serialize(policy, ContractsJsonContext.Default.PolicyDocument)),
                ("@at", Database.Timestamp(now))).ConfigureAwait(false);
            return new StoredPolicy(policy, version, now);
        }, cancellationToken);

    public Task<StoredPolicy?> GetPolicyAsync(string name, int? version = null, CancellationToken cancellationToken = default) =>
        Database.ReadAsync(connection => version is { } v
            ? connection.QuerySingleAsync(null, "SELECT document, version, created_at FROM policies WHERE name = @name AND version = @version",
                ReadPolicy, cancellationToken, ("@name", name), ("@version", v))
            : connection.QuerySingleAsync(null, "SELECT document, version, created_at FROM policies WHERE name = @name ORDER BY version DESC LIMIT 1",
                ReadPolicy, cancellationToken, ("@name", name)), cancellationToken);

    public Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<StoredPolicy>>(async connection => await connection.QueryAsync(null, """
                SELECT p.document, p.version, p.created_at FROM policies p
                WHERE p.version = (SELECT MAX(version) FROM policies q WHERE q.name = p.name) ORDER BY p.name
                """, ReadPolicy, cancellationToken).ConfigureAwait(false), cancellationToken);

    public Task<PolicyRemoval> RemovePolicyAsync(string name, CancellationToken cancellationToken = default) =>
        Database.WriteAsync(async (connection, transaction) =>
        {
            var users = Convert.ToInt64(await connection.ScalarAsync(transaction, "SELECT COUNT(*) FROM agents WHERE policy_name = @name",
                cancellationToken, ("@name", name)).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (users > 0)
                return PolicyRemoval.InUse;
            var removed = await connection.ExecuteAsync(transaction, "DELETE FROM policies WHERE name = @name", cancellationToken, ("@name", name)).ConfigureAwait(false);
            return removed > 0 ? PolicyRemoval.Removed : PolicyRemoval.NotFound;
        }, cancellationToken);

    private static StoredPolicy ReadPolicy(DbDataReader reader) => new(
        JsonSerializer.Deserialize(reader.GetString(0), ContractsJsonContext.Default.PolicyDocument)
            ?? throw new InvalidDataException("stored policy document is null"),
        reader.GetInt32(1),
        reader.GetTimestamp(2));
}
