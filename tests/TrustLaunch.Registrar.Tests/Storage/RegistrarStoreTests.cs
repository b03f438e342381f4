using System.Data.Common;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Registrar.Storage;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests.Storage;

/// <summary>The registrar store's behaviour, the same on every backend: run on SQLite and PostgreSQL below.</summary>
public abstract class RegistrarStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-registrar-store-").FullName;
    private RegistrarStore _store = null!;

    /// <summary>A new empty store location for one test.</summary>
    protected abstract Task<StoreLocation> CreateLocationAsync();

    public async Task InitializeAsync() => _store = await RegistrarStore.OpenAsync(await CreateLocationAsync(), _dataDirectory);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    private static RegisteredAgent Agent(string id, byte ek = 1, byte ak = 2, byte[]? ekCertificate = null) =>
        new(id, [ek, 0, ek], ekCertificate, [ak, 0, ak], "-----BEGIN CERTIFICATE-----", "10.0.0.1:9002", Active: false, Now, ActivatedAt: null);

    [Fact]
    public async Task Register_New_PendingWithProofDigestNoActive()
    {
        Assert.Equal(RegisterOutcome.Created, await _store.RegisterAsync(Agent("a1", ekCertificate: [9, 9]), [7, 7]));

        var record = (await _store.GetAsync("a1"))!;
        Assert.Null(record.Active);
        var a = record.Agent;
        Assert.Equal(("a1", "-----BEGIN CERTIFICATE-----", "10.0.0.1:9002", false, Now, (DateTimeOffset?)null),
            (a.AgentId, a.TlsCertificate, a.Address, a.Active, a.RegisteredAt, a.ActivatedAt));
        Assert.Equal(new byte[] { 1, 0, 1 }, a.EkPublic);
        Assert.Equal(new byte[] { 9, 9 }, a.EkCertificate);
        Assert.Equal(new byte[] { 2, 0, 2 }, a.AkPublic);
        Assert.Equal(new byte[] { 7, 7 }, record.Pending!.ProofDigest);
    }

    [Fact]
    public async Task FindActiveByAk_PendingThenActiveThenTwoAgents_NoneOneBoth()
    {
        await _store.RegisterAsync(Agent("a1", ak: 5), [7, 7]);
        var pending = await _store.FindActiveByAkAsync([5, 0, 5]);
        await _store.ActivateAsync("a1", [7, 7], Now);
        var one = await _store.FindActiveByAkAsync([5, 0, 5]);
        await _store.RegisterAsync(Agent("a2", ek: 3, ak: 5), [8, 8]);
        await _store.ActivateAsync("a2", [8, 8], Now);

        var both = await _store.FindActiveByAkAsync([5, 0, 5]);

        Assert.Empty(pending);
        Assert.Equal(["a1"], one.Select(a => a.AgentId));
        Assert.Equal(["a1", "a2"], both.Select(a => a.AgentId));
        Assert.Empty(await _store.FindActiveByAkAsync([5, 0, 6]));
    }

    [Fact]
    public async Task Activate_PendingProof_ActiveAndPendingGone()
    {
        await _store.RegisterAsync(Agent("a1"), [7, 7]);

        Assert.False(await _store.ActivateAsync("a1", [6, 6], Now));
        Assert.True(await _store.ActivateAsync("a1", [7, 7], Now.AddSeconds(1)));

        var record = (await _store.GetAsync("a1"))!;
        Assert.Equal((true, Now.AddSeconds(1)), (record.Agent.Active, record.Agent.ActivatedAt));
        Assert.Null(record.Pending);
        Assert.False(await _store.ActivateAsync("a1", [7, 7], Now));
    }

    [Fact]
    public async Task Register_SameEkAfterActivation_ActiveUntouchedUntilProvenThenReplaced()
    {
        await _store.RegisterAsync(Agent("a1"), [7, 7]);
        await _store.ActivateAsync("a1", [7, 7], Now);

        Assert.Equal(RegisterOutcome.Renewed, await _store.RegisterAsync(Agent("a1", ak: 3) with { Address = "10.0.0.2:9002", TlsCertificate = "other" }, [8, 8]));

        var record = (await _store.GetAsync("a1"))!;
        Assert.Equal((true, (DateTimeOffset?)Now, "10.0.0.1:9002", "-----BEGIN CERTIFICATE-----"),
            (record.Agent.Active, record.Agent.ActivatedAt, record.Agent.Address, record.Agent.TlsCertificate));
        Assert.Equal(new byte[] { 2, 0, 2 }, record.Agent.AkPublic);
        Assert.Equal([true], (await _store.ListAsync()).Select(a => a.Active));

        Assert.True(await _store.ActivateAsync("a1", [8, 8], Now.AddSeconds(5)));
        var replaced = (await _store.GetAsync("a1"))!;
        Assert.Null(replaced.Pending);
        Assert.Equal((true, (DateTimeOffset?)Now.AddSeconds(5), "10.0.0.2:9002", "other"),
            (replaced.Agent.Active, replaced.Agent.ActivatedAt, replaced.Agent.Address, replaced.Agent.TlsCertificate));
        Assert.Equal(new byte[] { 3, 0, 3 }, replaced.Agent.AkPublic);
    }

    [Fact]
    public async Task Register_DifferentEkOfActive_KeysDifferNothingChanged()
    {
        await _store.RegisterAsync(Agent("a1"), [7, 7]);
        await _store.ActivateAsync("a1", [7, 7], Now);

        Assert.Equal(RegisterOutcome.KeysDiffer, await _store.RegisterAsync(Agent("a1", ek: 4), [8, 8]));

        var record = (await _store.GetAsync("a1"))!;
        Assert.Equal(new byte[] { 1, 0, 1 }, record.Agent.EkPublic);
        Assert.Null(record.Pending);
    }

    [Fact]
    public async Task Migration_Version1Rows_ActiveKeptPendingCredentialsDropped()
    {
        var location = await CreateLocationAsync();
        var directory = Path.Combine(_dataDirectory, "v1");
        var version1 = new StoreSchema("registrar", [RegistrarMigrations.Schema.Sqlite[0]], [RegistrarMigrations.Schema.Postgres[0]]);
        await using (var v1 = await location.OpenAsync(directory, version1))
        {
            await v1.WriteAsync(async (connection, transaction) =>
            {
                foreach (var (id, active, credential) in new[] { ("active", true, (byte[]?)null), ("pending", false, new byte[] { 5, 5, 5 }) })
                {
                    await connection.ExecuteAsync(transaction, """
                        INSERT INTO agents (agent_id, ek_public, ek_certificate, ak_public, tls_certificate, address, pending_credential, active, registered_at, activated_at)
                        VALUES (@id, @ek, NULL, @ak, 'pem', NULL, @cred, @active, @at, @activated)
                        """, CancellationToken.None, ("@id", id), ("@ek", new byte[] { 1 }), ("@ak", new byte[] { 2 }), ("@cred", credential),
                        ("@active", active), ("@at", v1.Timestamp(Now)), ("@activated", active ? v1.Timestamp(Now) : null));
                }
                return 0;
            });
        }

        await using var migrated = await RegistrarStore.OpenAsync(location, directory);

        var kept = (await migrated.GetAsync("active"))!;
        Assert.Equal((true, (DateTimeOffset?)Now, "pem"), (kept.Agent.Active, kept.Agent.ActivatedAt, kept.Agent.TlsCertificate));
        Assert.Null(await migrated.GetAsync("pending"));
        var column = await Assert.ThrowsAnyAsync<DbException>(() => migrated.Database.ReadAsync(connection =>
            connection.ScalarAsync(null, "SELECT pending_credential FROM agents", CancellationToken.None)));
        Assert.Contains("pending_credential", column.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAndDelete_SeveralAgents_ByIdThenGone()
    {
        await _store.RegisterAsync(Agent("b"), [1]);
        await _store.RegisterAsync(Agent("a"), [1]);

        Assert.Equal(["a", "b"], (await _store.ListAsync()).Select(a => a.AgentId));
        Assert.True(await _store.DeleteAsync("a"));
        Assert.False(await _store.DeleteAsync("a"));
        Assert.Null(await _store.GetAsync("a"));
        Assert.Equal(["b"], (await _store.ListAsync()).Select(a => a.AgentId));
    }
}

public sealed class SqliteRegistrarStoreTests : RegistrarStoreTests
{
    protected override Task<StoreLocation> CreateLocationAsync() => Task.FromResult(StoreLocation.Sqlite);
}

/// <summary>A private PostgreSQL server for the class, a new database per test.</summary>
[Trait("Category", "Slow")]
public sealed class PostgresRegistrarStoreTests(PostgresFixture postgres) : RegistrarStoreTests, IClassFixture<PostgresFixture>
{
    protected override async Task<StoreLocation> CreateLocationAsync() => StoreLocation.Parse(postgres.Url(await postgres.CreateDatabaseAsync()));
}
