using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Polling;

/// <summary>
/// The poller's schedule: due agents longest due first and at most as many as asked, in flight until their round
/// ends; a record kept between rounds only while its generation is the store's; dropped agents never come back
/// from a late round; an agent held again while its old round runs is scheduled once, by that round's end.
/// </summary>
public sealed class AgentScheduleTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch.AddDays(20_000);

    [Fact]
    public void TakeDue_LongestDueFirst_AtMostMaxAndSaysMoreWait()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 1), Held("b", 1), Held("c", 1), Held("later", 1)], h => h.AgentId switch
        {
            "a" => Now.AddSeconds(-1),
            "b" => Now.AddSeconds(-3),
            "c" => Now.AddSeconds(-2),
            _ => Now.AddSeconds(5),
        });

        var first = schedule.TakeDue(Now, 2, out var more);
        var rest = schedule.TakeDue(Now, 5, out var moreAfter);

        Assert.Equal(["b", "c"], first.Select(d => d.AgentId));
        Assert.True(more);
        Assert.Equal(["a"], rest.Select(d => d.AgentId));
        Assert.False(moreAfter);
        Assert.Empty(schedule.TakeDue(Now, 5, out _));
        Assert.Equal(["later"], schedule.TakeDue(Now.AddSeconds(5), 5, out _).Select(d => d.AgentId));
    }

    [Fact]
    public void Complete_RecordOfTheStoresGeneration_KeptForTheNextRound()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 7)], _ => Now);
        Assert.Null(Assert.Single(schedule.TakeDue(Now, 1, out _)).Agent);

        schedule.Complete("a", Now.AddSeconds(2), Record("a", 7));

        Assert.Empty(schedule.TakeDue(Now.AddSeconds(1), 1, out _));
        Assert.Equal(7, Assert.Single(schedule.TakeDue(Now.AddSeconds(2), 1, out _)).Agent!.Generation);
    }

    [Fact]
    public void Refresh_AnotherGeneration_KeptRecordLetGoSoTheRoundReadsAgain()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 7)], _ => Now);
        schedule.TakeDue(Now, 1, out _);
        schedule.Complete("a", Now, Record("a", 7));

        schedule.Refresh([Held("a", 8)], _ => Now);

        Assert.Null(Assert.Single(schedule.TakeDue(Now, 1, out _)).Agent);
    }

    [Fact]
    public void Complete_RecordOfAnotherGenerationThanTheStoresLast_NotKept()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 7)], _ => Now);
        schedule.TakeDue(Now, 1, out _);
        schedule.Refresh([Held("a", 8)], _ => Now);

        schedule.Complete("a", Now, Record("a", 7));

        Assert.Null(Assert.Single(schedule.TakeDue(Now, 1, out _)).Agent);
    }

    [Fact]
    public void Refresh_AgentNoLongerHeld_DroppedAndALateRoundDoesNotBringItBack()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 1), Held("b", 1)], _ => Now);
        schedule.TakeDue(Now, 1, out _);

        var dropped = schedule.Refresh([Held("b", 1)], _ => Now);
        schedule.Complete("a", Now, Record("a", 1));

        Assert.Equal(["a"], dropped);
        Assert.Equal(["b"], schedule.TakeDue(Now, 5, out _).Select(d => d.AgentId));
        Assert.Equal(1, schedule.Count);
    }

    [Fact]
    public void Refresh_HeldAgainWhileItsOldRoundRuns_ScheduledOnceByThatRoundsEnd()
    {
        var schedule = new AgentSchedule();
        schedule.Refresh([Held("a", 1)], _ => Now);
        schedule.TakeDue(Now, 1, out _);
        schedule.Refresh([], _ => Now);
        schedule.Refresh([Held("a", 1)], _ => Now);

        Assert.Empty(schedule.TakeDue(Now, 5, out _));
        schedule.Complete("a", Now.AddSeconds(2), null);

        Assert.Single(schedule.TakeDue(Now.AddSeconds(2), 5, out _));
        Assert.Empty(schedule.TakeDue(Now.AddSeconds(9), 5, out _));
    }

    private static HeldAgent Held(string id, long generation) => new(id, null, 0, generation);

    private static AgentRecord Record(string id, long generation) =>
        AgentRecord.New(id, "127.0.0.1:9002", "prod", 1) with { State = AgentStates.Attested, Generation = generation };
}
