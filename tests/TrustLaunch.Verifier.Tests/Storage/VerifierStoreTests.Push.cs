using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>Push mode in the store: challenges (one outstanding per agent, used once) and deadlines.</summary>
public abstract partial class VerifierStoreTests
{
    [Fact]
    public async Task IssueChallenge_SecondReplacesFirst_OnlySecondConsumedAndOnlyOnce()
    {
        await _store.AddAgentAsync(PushAgent("p1", Now.AddSeconds(5)));
        await _store.IssueChallengeAsync(Challenge("p1", "c1", since: 4));
        var second = await _store.IssueChallengeAsync(Challenge("p1", "c2", since: 4));

        var outstanding = (await _store.GetChallengeAsync("p1"))!;
        Assert.Equal(("c2", 4L, false), (outstanding.ChallengeId, outstanding.Since, outstanding.Consumed));
        Assert.Equal(second!.Nonce, outstanding.Nonce);
        Assert.Equal([11, 13], outstanding.Pcrs);
        Assert.Equal(AgentStates.Attesting, (await _store.GetAgentAsync("p1"))!.State);

        var agent = (await _store.GetAgentAsync("p1"))! with { State = AgentStates.Attested };
        Assert.Null(await RecordPushAsync(agent, "c1", Now.AddSeconds(20)));
        Assert.NotNull(await RecordPushAsync(agent, "c2", Now.AddSeconds(20)));
        Assert.Null(await RecordPushAsync(agent, "c2", Now.AddSeconds(30)));

        var reloaded = (await _store.GetAgentAsync("p1"))!;
        Assert.Equal((AgentStates.Attested, Now.AddSeconds(20)), (reloaded.State, reloaded.PushDeadline));
        Assert.Single(await _store.GetResultsAsync("p1", 10));
        Assert.True((await _store.GetChallengeAsync("p1"))!.Consumed);
    }

    [Fact]
    public async Task IssueChallenge_PullModeOrUnknownAgent_NothingIssued()
    {
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));

        Assert.Null(await _store.IssueChallengeAsync(Challenge("a1", "c1", since: 0)));
        Assert.Null(await _store.IssueChallengeAsync(Challenge("ghost", "c1", since: 0)));
        Assert.Null(await _store.GetChallengeAsync("a1"));
    }

    [Fact]
    public async Task RequestFullLog_OnceOnly_ChallengesAskFromZeroUntilAResult()
    {
        await _store.AddAgentAsync(PushAgent("p1", Now.AddSeconds(5)));
        await _store.IssueChallengeAsync(Challenge("p1", "c1", since: 7));

        Assert.True(await _store.RequestFullLogAsync("p1", "c1"));
        Assert.False(await _store.RequestFullLogAsync("p1", "c1"));
        Assert.Equal(0, (await _store.IssueChallengeAsync(Challenge("p1", "c2", since: 7)))!.Since);
        Assert.Equal(0, (await _store.IssueChallengeAsync(Challenge("p1", "c3", since: 7)))!.Since);
        await RecordPushAsync((await _store.GetAgentAsync("p1"))!, "c3", Now.AddSeconds(20));
        Assert.Equal(7, (await _store.IssueChallengeAsync(Challenge("p1", "c4", since: 7)))!.Since);
    }

    [Fact]
    public async Task MarkDeadlineMissed_OnlyOverdueActivePushAgent_UnreachableOnce()
    {
        await _store.AddAgentAsync(PushAgent("overdue", Now.AddSeconds(-1)));
        await _store.AddAgentAsync(PushAgent("due-later", Now.AddSeconds(1)));
        await _store.AddAgentAsync(PushAgent("paused", Now.AddSeconds(-1)) with { Paused = true });
        await _store.AddAgentAsync(PushAgent("failed", Now.AddSeconds(-1)) with { State = AgentStates.Failed });
        await _store.AddAgentAsync(AgentRecord.New("pull", "127.0.0.1:9002", "prod", 1));

        var marked = new List<string>();
        foreach (var id in new[] { "overdue", "due-later", "paused", "failed", "pull" })
        {
            if (await _store.MarkDeadlineMissedAsync(id, "late", Now))
                marked.Add(id);
        }

        Assert.Equal(["overdue"], marked);
        Assert.False(await _store.MarkDeadlineMissedAsync("overdue", "late", Now));
        var overdue = (await _store.GetAgentAsync("overdue"))!;
        Assert.Equal((AgentStates.Unreachable, "late", AttestationModes.Push, Now.AddSeconds(-1)), (overdue.State, overdue.FailureReason, overdue.Mode, overdue.PushDeadline));
        Assert.Equal((AttestationModes.Pull, null), ((await _store.GetAgentAsync("pull"))!.Mode, (await _store.GetAgentAsync("pull"))!.PushDeadline));
    }

    [Fact]
    public async Task SetPushDeadline_PushAgentOnly_ThenNotOverdue()
    {
        await _store.AddAgentAsync(PushAgent("p1", Now.AddSeconds(-1)));
        await _store.AddAgentAsync(AgentRecord.New("a1", "127.0.0.1:9002", "prod", 1));

        Assert.True(await _store.SetPushDeadlineAsync("p1", Now.AddSeconds(10)));
        Assert.False(await _store.SetPushDeadlineAsync("a1", Now.AddSeconds(10)));

        Assert.False(await _store.MarkDeadlineMissedAsync("p1", "late", Now));
    }

    [Fact]
    public async Task RemoveAgent_OutstandingChallenge_Removed()
    {
        await _store.AddAgentAsync(PushAgent("p1", Now.AddSeconds(5)));
        await _store.IssueChallengeAsync(Challenge("p1", "c1", since: 0));

        Assert.True(await _store.RemoveAgentAsync("p1"));

        Assert.Null(await _store.GetChallengeAsync("p1"));
    }

    private static AgentRecord PushAgent(string id, DateTimeOffset deadline) =>
        AgentRecord.New(id, "", "prod", 1) with { Mode = AttestationModes.Push, PushDeadline = deadline };

    private static StoredChallenge Challenge(string agentId, string challengeId, long since) =>
        new(agentId, challengeId, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), [11, 13], since, Now, Now.AddSeconds(10), Consumed: false);

    private Task<AttestationResultRecord?> RecordPushAsync(AgentRecord agent, string challengeId, DateTimeOffset deadline) =>
        _store.RecordPushAttestationAsync(agent, new AttestationResultRecord(0, agent.AgentId, Now, "affirming", null, null, 0, "prod:v1", "t"), null, [],
            challengeId, deadline);
}
