using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;
using static TrustLaunch.Verifier.Tests.Storage.LeaseTestData;

namespace TrustLaunch.Verifier.Tests.Storage;

public abstract partial class VerifierRetentionTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    [Fact]
    public async Task PruneRetired_InstancesDeadPastGrace_ForgottenWithTheirKeysOthersKept()
    {
        await HeartbeatAsync("a", Now);
        await HeartbeatAsync("b", Now.AddHours(-2));
        await HeartbeatAsync("c", Now.AddMinutes(-30));

        var removed = await _store.PruneRetiredAsync(Now, Grace, 100);

        Assert.Equal(new RetiredRemoval(1, 1), removed);
        Assert.Equal(["a", "c"], (await _store.ListInstancesAsync(Now)).Select(i => i.InstanceId));
        Assert.Null(await _store.GetPublicKeyAsync("kid-b"));
        Assert.Equal("PEM a", await _store.GetPublicKeyAsync("kid-a"));
        Assert.Equal("PEM c", await _store.GetPublicKeyAsync("kid-c"));
    }

    [Fact]
    public async Task PruneRetired_GraceOfATokenLifetime_KeyServedUntilItsLastTokenExpired()
    {
        await HeartbeatAsync("b", Now);
        // b may sign until its heartbeat runs out; a token signed then expires one lifetime later.
        var lastToken = Now + Lease + EarToken.Lifetime;

        var before = await _store.PruneRetiredAsync(lastToken.AddSeconds(-1), EarToken.Lifetime, 100);
        var keyBefore = await _store.GetPublicKeyAsync("kid-b");
        var at = await _store.PruneRetiredAsync(lastToken, EarToken.Lifetime, 100);

        Assert.Equal((new RetiredRemoval(0, 0), "PEM b"), (before, keyBefore));
        Assert.Equal(new RetiredRemoval(1, 1), at);
        Assert.Null(await _store.GetPublicKeyAsync("kid-b"));
    }

    [Fact]
    public async Task PruneRetired_KeyNamedByAStoredResult_KeptUntilRetentionRemovesTheResult()
    {
        await HeartbeatAsync("b", Now);
        await RecordAsync("a", "b", Token("kid-b"), 0);
        var later = Now.AddDays(1);
        await HeartbeatAsync("a", later);
        await RecordAsync("a", "a", Token("kid-a"), 24 * 60);

        var whileStored = await _store.PruneRetiredAsync(later, Grace, 100);
        var keyWhileStored = await _store.GetPublicKeyAsync("kid-b");
        await _store.PruneResultsAsync(new ResultRetention(null, 1), later, 100);
        var afterRetention = await _store.PruneRetiredAsync(later, Grace, 100);

        Assert.Equal((new RetiredRemoval(1, 0), "PEM b"), (whileStored, keyWhileStored));
        Assert.Equal(new RetiredRemoval(0, 1), afterRetention);
        Assert.Null(await _store.GetPublicKeyAsync("kid-b"));
        Assert.Equal("PEM a", await _store.GetPublicKeyAsync("kid-a"));
    }

    [Fact]
    public async Task PruneRetired_KeyNamedByADeadLetter_KeptUntilTheEntryIsGone()
    {
        await HeartbeatAsync("b", Now);
        var agent = (await _store.GetAgentAsync("a"))!;
        await _store.RecordAttestationAsync(agent, new AttestationResultRecord(0, "a", Now, "contraindicated", "x", null, 0, "prod:v1", Token("kid-a"), "b"),
            Token("kid-b"), ["http://127.0.0.1:9/"], null);
        var entry = Assert.Single(await _store.ListOutboxAsync(10));
        Assert.True(await _store.MarkAttemptFailedAsync(entry.Id, "answered 500", Now, Now.AddSeconds(1), maxAttempts: 1));

        var whileDead = await _store.PruneRetiredAsync(Now.AddDays(1), Grace, 100);
        await _store.MarkDeliveredAsync(entry.Id);
        var afterwards = await _store.PruneRetiredAsync(Now.AddDays(1), Grace, 100);

        Assert.Equal(new RetiredRemoval(1, 0), whileDead);
        Assert.Equal(new RetiredRemoval(0, 1), afterwards);
    }

    [Fact]
    public async Task PruneRetired_ResultWhoseTokenNamesNoReadableKey_KeepsEveryKeyOfItsInstance()
    {
        await HeartbeatAsync("b", Now);
        await HeartbeatAsync("c", Now);
        await RecordAsync("a", "b", "not a JWS", 0);

        var removed = await _store.PruneRetiredAsync(Now.AddDays(1), Grace, 100);

        Assert.Equal(new RetiredRemoval(2, 1), removed);
        Assert.Equal("PEM b", await _store.GetPublicKeyAsync("kid-b"));
        Assert.Null(await _store.GetPublicKeyAsync("kid-c"));
    }

    [Fact]
    public async Task PruneRetired_KeyPublishedBeforeItsLastUseWasRecorded_GraceCountsFromTheFirstPass()
    {
        await _store.Database.WriteAsync((connection, transaction) => connection.ExecuteAsync(transaction,
            "INSERT INTO verifier_keys (key_id, public_key, instance_id, published_at) VALUES ('kid-old', 'PEM old', 'old', @at)", default,
            ("@at", _store.Database.Timestamp(Now.AddYears(-1)))));

        var first = await _store.PruneRetiredAsync(Now, Grace, 100);
        var withinGrace = await _store.PruneRetiredAsync(Now + Grace - TimeSpan.FromSeconds(1), Grace, 100);
        var afterGrace = await _store.PruneRetiredAsync(Now + Grace, Grace, 100);

        Assert.Equal([new RetiredRemoval(0, 0), new RetiredRemoval(0, 0), new RetiredRemoval(0, 1)], new[] { first, withinGrace, afterGrace });
        Assert.Null(await _store.GetPublicKeyAsync("kid-old"));
    }

    private Task HeartbeatAsync(string instance, DateTimeOffset at) => _store.MaintainLeasesAsync(Instance(instance), NoneInFlight, at, Lease);
}
