using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Storage;

public abstract partial class VerifierStoreTests
{
    [Fact]
    public async Task MarkAttemptFailed_MaxAttemptsReached_DeadKeptListedNeverDueAgain()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));
        await _store.RecordAttestationAsync((await _store.GetAgentAsync("a1"))!,
            new AttestationResultRecord(0, "a1", Now, "contraindicated", "x", null, 0, "p:v1", "t"), "jws", ["http://x/", "http://y/"], null);
        var (x, y) = (await _store.GetDueNotificationsAsync(Now, 10)) is [var first, var second] ? (first, second) : throw new InvalidOperationException();

        var died = new List<bool>();
        for (var attempt = 0; attempt < 3; attempt++)
            died.Add(await _store.MarkAttemptFailedAsync(x.Id, $"answered 50{attempt}", Now.AddSeconds(attempt), Now.AddSeconds(attempt + 1), maxAttempts: 3));
        var afterDeath = await _store.MarkAttemptFailedAsync(x.Id, "answered 599", Now.AddSeconds(9), Now.AddSeconds(10), maxAttempts: 3);
        await _store.MarkAttemptFailedAsync(y.Id, "answered 404", Now, Now.AddSeconds(1), maxAttempts: 3);

        Assert.Equal([false, false, true], died);
        Assert.False(afterDeath);
        Assert.Equal([y.Id], (await _store.GetDueNotificationsAsync(Now.AddDays(1), 10)).Select(e => e.Id));
        Assert.Equal(
        [
            new OutboxEntryStatus(x.Id, OutboxStates.Dead, "a1", "http://x/", 3, "answered 502", Now, Now.AddSeconds(3), Now.AddSeconds(2)),
            new OutboxEntryStatus(y.Id, OutboxStates.Pending, "a1", "http://y/", 1, "answered 404", Now, Now.AddSeconds(1), null),
        ], await _store.ListOutboxAsync(10));
        Assert.Equal(new OutboxCounts(1, 1), await _store.CountOutboxAsync());
    }
}
