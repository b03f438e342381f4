using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Measurement.Tests;

public class EventLogReplayTests
{
    private const int Pcr = LaunchPcr.Default;

    internal static List<CelRecord> SampleLog(int count) =>
        Enumerable.Range(0, count)
            .Select(i => EventLogReplay.CreateRecord(i, Pcr, LaunchEventLines.ContainerStarted(new ContainerEvent($"container-{i}"))))
            .ToList();

    /// <summary>An independent replay: SHA-256 over the concatenation, from zeros.</summary>
    private static byte[] Expected(IEnumerable<CelRecord> records) =>
        records.Aggregate(new byte[32], (pcr, r) => SHA256.HashData([.. pcr, .. SHA256.HashData(Encoding.UTF8.GetBytes(r.Content))]));

    private static ReplayFailure Fails(IReadOnlyList<CelRecord> records, byte[]? quoted = null)
    {
        var result = EventLogReplay.Replay(records, Pcr, quoted ?? Expected(records));
        Assert.False(result.IsValid);
        return result.Failure!;
    }

    [Fact]
    public void Replay_IntactLog_ValidWithEventsAndValue()
    {
        var log = SampleLog(5);
        var result = EventLogReplay.Replay(log, Pcr, Expected(log));
        Assert.True(result.IsValid);
        Assert.Equal(Expected(log), result.PcrValue);
        Assert.Equal(5, result.NextRecNum);
        Assert.Equal("container-4", result.Events[4].Line.Content.GetProperty("container").GetString());
    }

    [Fact]
    public void Replay_EmptyLog_ZerosValid() =>
        Assert.True(EventLogReplay.Replay([], Pcr, new byte[32]).IsValid);

    [Fact]
    public void Replay_EditedContent_DigestMismatchAtThatRecnum()
    {
        var log = SampleLog(4);
        log[2] = log[2] with { Content = log[2].Content.Replace("container-2", "container-X") };
        Assert.Equal(
            new ReplayFailure(ReplayFailureKind.DigestMismatch, 2, "digest mismatch at recnum 2: the sha256 digest is not SHA-256 of the content"),
            Fails(log));
    }

    [Fact]
    public void Replay_EditedContentAndDigest_FinalValueMismatch()
    {
        var log = SampleLog(3);
        var quoted = Expected(log);
        log[1] = EventLogReplay.CreateRecord(1, Pcr, LaunchEventLines.ContainerStarted(new ContainerEvent("evil")));
        var failure = Fails(log, quoted);
        Assert.Equal(ReplayFailureKind.FinalValueMismatch, failure.Kind);
        Assert.Null(failure.RecNum);
        Assert.Equal(
            $"final value mismatch for PCR 13 after recnum 2: expected {Convert.ToHexStringLower(quoted)} (quoted), found {Convert.ToHexStringLower(Expected(log))} (replayed)",
            failure.Reason);
    }

    [Fact]
    public void Replay_DroppedRecord_GapReported()
    {
        var log = SampleLog(4);
        log.RemoveAt(1);
        Assert.Equal(new ReplayFailure(ReplayFailureKind.OutOfOrder, 2, "gap or re-order: expected recnum 1, found 2"), Fails(log));
    }

    [Fact]
    public void Replay_ReorderedRecords_ReorderReported()
    {
        var log = SampleLog(4);
        (log[1], log[2]) = (log[2], log[1]);
        Assert.Equal(new ReplayFailure(ReplayFailureKind.OutOfOrder, 2, "gap or re-order: expected recnum 1, found 2"), Fails(log));
    }

    [Fact]
    public void Replay_ReorderedAndRenumbered_FinalValueMismatch()
    {
        var log = SampleLog(4);
        var quoted = Expected(log);
        (log[1], log[2]) = (log[2] with { RecNum = 1 }, log[1] with { RecNum = 2 });
        Assert.Equal(ReplayFailureKind.FinalValueMismatch, Fails(log, quoted).Kind);
    }

    [Fact]
    public void Replay_TruncatedLog_FinalValueMismatch()
    {
        var log = SampleLog(4);
        var quoted = Expected(log);
        Assert.StartsWith("final value mismatch for PCR 13 after recnum 2: expected ", Fails(log[..3], quoted).Reason);
    }

    [Fact]
    public void Replay_WrongPcr_Reported()
    {
        var log = SampleLog(2);
        log[1] = log[1] with { Pcr = 10 };
        Assert.Equal(new ReplayFailure(ReplayFailureKind.WrongPcr, 1, "wrong PCR at recnum 1: expected 13, found 10"), Fails(log));
    }

    [Fact]
    public void Replay_WrongContentType_Reported()
    {
        var log = SampleLog(2);
        log[0] = log[0] with { ContentType = "ima" };
        Assert.Equal(
            new ReplayFailure(ReplayFailureKind.WrongContentType, 0, "wrong content type at recnum 0: expected 'event_line', found 'ima'"),
            Fails(log));
    }

    [Theory]
    [InlineData("sha1", "00")]
    [InlineData("sha256", "zz")]
    [InlineData("sha256", "abcd")]
    public void Replay_MalformedDigest_Reported(string alg, string hex)
    {
        var log = SampleLog(1);
        log[0] = log[0] with { Digests = [new CelDigest(alg, hex)] };
        Assert.Equal(
            new ReplayFailure(ReplayFailureKind.MalformedDigest, 0, "malformed digests at recnum 0: expected exactly one sha256 digest of 64 hex digits"),
            Fails(log));
    }

    [Fact]
    public void Replay_TwoDigests_MalformedDigest()
    {
        var log = SampleLog(1);
        log[0] = log[0] with { Digests = [.. log[0].Digests, .. log[0].Digests] };
        Assert.Equal(ReplayFailureKind.MalformedDigest, Fails(log).Kind);
    }

    [Fact]
    public void Replay_MalformedLine_Reported()
    {
        var log = new List<CelRecord> { EventLogReplay.CreateRecord(0, Pcr, "trustlaunch ContainerStarted {\"b\":1,\"a\":2}") };
        Assert.Equal(
            new ReplayFailure(ReplayFailureKind.MalformedLine, 0, "malformed event line at recnum 0: event line content is not in RFC 8785 canonical form"),
            Fails(log));
    }

    [Fact]
    public void Apply_Incrementally_SameAsFullReplayAndStateOnlyMovesOnSuccess()
    {
        var log = SampleLog(10);
        var state = new ReplayState(Pcr);
        Assert.True(state.Apply(log[..4], Expected(log[..4])).IsValid);
        Assert.False(state.Apply(log[5..], Expected(log)).IsValid);
        Assert.Equal(4, state.NextRecNum);
        Assert.Equal(Expected(log[..4]), state.PcrValue.ToArray());
        var rest = state.Apply(log[4..], Expected(log));
        Assert.True(rest.IsValid);
        Assert.Equal(6, rest.Events.Count);
        Assert.Equal(10, state.NextRecNum);
        Assert.True(state.Apply([], Expected(log)).IsValid);
    }

    [Fact]
    public void Restore_FromStoredValueAndRecNum_ContinuesLikeTheFullReplay()
    {
        var log = SampleLog(10);

        var state = ReplayState.Restore(Pcr, Expected(log[..6]), 6, EventLineCheck.Verbatim);
        var result = state.Apply(log[6..], Expected(log));

        Assert.True(result.IsValid);
        Assert.Equal(10, state.NextRecNum);
        Assert.Equal(Expected(log), state.PcrValue.ToArray());
        Assert.Equal("gap or re-order: expected recnum 6, found 5",
            ReplayState.Restore(Pcr, Expected(log[..6]), 6).Apply(log[5..], Expected(log)).Failure!.Reason);
    }

    [Fact]
    public void Apply_VerbatimLines_NonCanonicalAcceptedDuplicateMemberRefused()
    {
        var reordered = new List<CelRecord> { EventLogReplay.CreateRecord(0, Pcr, "trustlaunch ContainerStarted {\"b\":1,\"a\":2}") };
        var duplicate = new List<CelRecord> { EventLogReplay.CreateRecord(0, Pcr, "trustlaunch ContainerStarted {\"container\":\"a\",\"container\":\"b\"}") };

        Assert.True(new ReplayState(Pcr, EventLineCheck.Verbatim).Apply(reordered, Expected(reordered)).IsValid);
        var failure = new ReplayState(Pcr, EventLineCheck.Verbatim).Apply(duplicate, Expected(duplicate)).Failure!;
        Assert.Equal(ReplayFailureKind.MalformedLine, failure.Kind);
        Assert.StartsWith("malformed event line at recnum 0: event line content is not JSON: ", failure.Reason);
    }

    [Fact]
    public void Apply_NullContentOrDigest_MalformedRecord()
    {
        var good = SampleLog(1)[0];

        var noContent = new ReplayState(Pcr).Apply([good with { Content = null! }], Expected([good])).Failure!;
        var noDigest = new ReplayState(Pcr).Apply([good with { Digests = [new CelDigest("sha256", null!)] }], Expected([good])).Failure!;

        Assert.Equal(new ReplayFailure(ReplayFailureKind.MalformedLine, 0, "malformed event line at recnum 0: the record has no content"), noContent);
        Assert.Equal(ReplayFailureKind.MalformedDigest, noDigest.Kind);
    }

    [Fact]
    public void Restore_NotAPcrValue_Refused() =>
        Assert.Throws<ArgumentException>(() => ReplayState.Restore(Pcr, new byte[20], 0));

    [Theory]
    [InlineData(16)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(-1)]
    public void ReplayState_UnusablePcr_Refused(int pcr) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayState(pcr));

    [Fact]
    public void Extend_MatchesTpmDefinition() =>
        Assert.Equal(SHA256.HashData([.. new byte[32], .. Enumerable.Repeat((byte)1, 32)]), EventLogReplay.Extend(new byte[32], Enumerable.Repeat((byte)1, 32).ToArray()));
}
