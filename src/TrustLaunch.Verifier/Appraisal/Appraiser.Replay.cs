using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;

namespace TrustLaunch.Verifier.Appraisal;

public static partial class Appraiser
{
    /// <summary>
    /// Replays the new records onto the running value with Measurement's <see cref="ReplayState"/>, restored from the
    /// stored value and record number, in its hot-path mode (<see cref="EventLineCheck.Verbatim"/>: the digests bind
    /// the bytes, so lines are not re-canonicalised). The evidence must cover exactly the records from the one expected
    /// to the log's end, and replay to the quoted value. Any break is a broken evidence chain (edited, dropped,
    /// re-ordered, truncated or foreign records).
    /// </summary>
    private static AppraisalOutcome? Replay(AppraisalState previous, QuoteEvidence evidence, int launchPcr,
        ReadOnlySpan<byte> quoted, out byte[] running)
    {
        running = previous.LaunchPcrValue;
        if (evidence.EventsFrom != previous.NextRecNum)
            return ChainBroken($"log starts at record {evidence.EventsFrom}, expected {previous.NextRecNum}");
        if (evidence.LogLength != evidence.EventsFrom + evidence.Events.Count)
            return ChainBroken($"log has {evidence.LogLength} records but the evidence ends at {evidence.EventsFrom + evidence.Events.Count}");
        var replay = ReplayState.Restore(launchPcr, previous.LaunchPcrValue, previous.NextRecNum, EventLineCheck.Verbatim);
        if (replay.Apply(evidence.Events, quoted).Failure is { } failure)
            return ChainBroken(failure.Reason, failure.RecNum);
        running = replay.PcrValue.ToArray();
        return null;
    }

    private static AppraisalOutcome ChainBroken(string reason, long? recnum = null) =>
        AppraisalOutcome.Failed(AppraisalFailure.LogChain, "broken evidence chain: " + reason, recnum);
}
