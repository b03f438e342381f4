namespace TrustLaunch.Verifier.Appraisal;

/// <summary>What kind of check refused evidence: a low-cardinality label for metrics.</summary>
public enum AppraisalFailure
{
    None,
    Evidence,
    Quote,
    Nonce,
    Freshness,
    PcrMismatch,
    LogChain,
    Policy,
}

/// <summary>
/// The outcome of one appraisal. Attested: <see cref="State"/> is the new per-agent state. Failed: <see cref="Reason"/>
/// says why and <see cref="EventIndex"/> names the record (recnum) at fault when one is. <see cref="NeedsFullLog"/>:
/// the quote showed a TPM reset but the log did not start at record 0, so the caller asks again from 0.
/// <see cref="Launches"/>: the container launches the attested evidence's new events verified.
/// </summary>
public sealed record AppraisalOutcome(
    AppraisalFailure Failure,
    string? Reason,
    long? EventIndex,
    AppraisalState? State,
    int EventsVerified,
    bool Rebooted,
    bool NeedsFullLog,
    IReadOnlyList<Hosting.Contracts.VerifiedLaunch>? Launches = null)
{
    public bool IsAttested => Failure == AppraisalFailure.None && !NeedsFullLog;

    internal static AppraisalOutcome Attested(AppraisalState state, int events, bool rebooted, IReadOnlyList<Hosting.Contracts.VerifiedLaunch> launches) =>
        new(AppraisalFailure.None, null, null, state, events, rebooted, false, launches.Count == 0 ? null : launches);

    internal static AppraisalOutcome Failed(AppraisalFailure failure, string reason, long? eventIndex = null) =>
        new(failure, reason, eventIndex, null, 0, false, false);

    internal static AppraisalOutcome FullLogNeeded() => new(AppraisalFailure.None, "the TPM was reset: the log must be read from record 0", null, null, 0, true, true);
}
