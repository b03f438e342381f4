using Npgsql;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Storage;
using static TrustLaunch.Verifier.Tests.Storage.LeaseTestData;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>
/// On PostgreSQL an attestation write runs READ COMMITTED; its lease fence holds because it key-share-locks the lease row.
/// A takeover that has deleted the lease but not yet committed (another instance's lease maintenance) is waited for:
/// then the write sees the lease gone and writes nothing, or, if the takeover rolls back, writes. Without the lock
/// the write would read the lease as last committed and go through under the new holder's feet.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PostgresLeaseFenceTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-fence-").FullName;
    private string _database = "";
    private VerifierStore _store = null!;

    public async Task InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        _store = await VerifierStore.OpenAsync(StoreLocation.Parse(postgres.Url(_database)), _dataDirectory);
        await _store.AddAgentAsync(AgentRecord.New("agent-0", "127.0.0.1:9002", "prod", 1));
        await _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now, Lease);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task RecordAttestation_TakeoverInFlight_WaitsForItsCommitThenWritesNothing()
    {
        var agent = (await _store.GetAgentAsync("agent-0"))!;
        await using var takeover = await BeginTakeoverAsync();

        var write = _store.RecordAttestationAsync(agent with { State = AgentStates.Attested, Attestations = 1 }, Result("a"), "jws", ["http://x/"], "a");
        await WaitUntilBlockedAsync(write);
        await takeover.CommitAsync();

        Assert.Null(await write);
        Assert.Empty(await _store.GetResultsAsync("agent-0", 10));
        Assert.Empty(await _store.GetDueNotificationsAsync(Now.AddHours(1), 10));
        Assert.Equal((AgentStates.Registered, 0L), ((await _store.GetAgentAsync("agent-0"))!.State, (await _store.GetAgentAsync("agent-0"))!.Attestations));
    }

    [Fact]
    public async Task RecordFault_TakeoverInFlight_WaitsForItsCommitThenWritesNothing()
    {
        var agent = (await _store.GetAgentAsync("agent-0"))!;
        await using var takeover = await BeginTakeoverAsync();

        var write = _store.RecordFaultAsync(agent, 1, AgentStates.Attesting, "refused", Now.AddSeconds(1), "a");
        await WaitUntilBlockedAsync(write);
        await takeover.CommitAsync();

        Assert.False(await write);
        Assert.Equal(0, (await _store.GetAgentAsync("agent-0"))!.ConsecutiveFaults);
    }

    [Fact]
    public async Task RecordAttestation_TakeoverRolledBack_WaitsThenWrites()
    {
        var agent = (await _store.GetAgentAsync("agent-0"))!;
        await using var takeover = await BeginTakeoverAsync();

        var write = _store.RecordAttestationAsync(agent with { State = AgentStates.Attested, Attestations = 1 }, Result("a"), null, [], "a");
        await WaitUntilBlockedAsync(write);
        await takeover.RollbackAsync();

        Assert.Equal("a", (await write)!.InstanceId);
        Assert.Equal(AgentStates.Attested, (await _store.GetAgentAsync("agent-0"))!.State);
    }

    [Fact]
    public async Task MaintainLeases_AWriteHoldsTheLeaseLock_RenewsWithoutWaitingForIt()
    {
        // An attestation write in flight: the lease row locked as its fence locks it, not yet committed.
        await using var connection = await postgres.OpenAdminConnectionAsync(_database);
        await using var write = await connection.BeginTransactionAsync();
        await using (var fence = new NpgsqlCommand(
            $"SELECT 1 FROM verifier.agent_leases l WHERE l.agent_id = 'agent-0' AND l.instance_id = 'a'{_store.Database.ShareLock}", connection, write))
            Assert.Equal(1, await fence.ExecuteScalarAsync());

        // The holder's renewal updates expires_at only: the lock lets it through while the write is still open (a
        // FOR SHARE lock would hold it, and every write queued behind it, until the write commits).
        var renewal = _store.MaintainLeasesAsync(Instance("a"), NoneInFlight, Now.AddSeconds(5), Lease);
        var first = await Task.WhenAny(renewal, Task.Delay(TimeSpan.FromSeconds(30)));
        var renewedWhileOpen = first == renewal;
        await write.CommitAsync();

        Assert.True(renewedWhileOpen, "the lease renewal waited for the attestation write's lock");
        Assert.Equal(["agent-0"], (await renewal).Select(a => a.AgentId));
    }

    private static AttestationResultRecord Result(string instance) => new(0, "agent-0", Now, "affirming", null, null, 0, "prod:v1", "t", instance);

    /// <summary>Instance b's lease maintenance, stopped before its commit: a's expired lease deleted, b's inserted.</summary>
    private async Task<TakeoverTransaction> BeginTakeoverAsync()
    {
        var connection = await postgres.OpenAdminConnectionAsync(_database);
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("""
            DELETE FROM verifier.agent_leases WHERE agent_id = 'agent-0';
            INSERT INTO verifier.agent_leases (agent_id, instance_id, expires_at) VALUES ('agent-0', 'b', now() + interval '1 hour');
            """, connection, transaction);
        await command.ExecuteNonQueryAsync();
        return new TakeoverTransaction(connection, transaction);
    }

    /// <summary>Until the write waits on a lock in PostgreSQL; a write that ends first did not wait for the takeover.</summary>
    private async Task WaitUntilBlockedAsync(Task write)
    {
        await using var watcher = await postgres.OpenAdminConnectionAsync(_database);
        for (var i = 0; i < 300; i++)
        {
            Assert.False(write.IsCompleted, "the write ended while the takeover was in flight: it did not wait for the lease row");
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%agent_leases%'", watcher);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
                return;
            await Task.Delay(50);
        }
        Assert.Fail("the write never waited on the lease row");
    }

    private sealed class TakeoverTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public Task CommitAsync() => transaction.CommitAsync();

        public Task RollbackAsync() => transaction.RollbackAsync();

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
