namespace TrustLaunch.Measurement;

public enum ReconcileOutcome
{
    /// <summary>The committed entries replay to the PCR value and nothing was pending.</summary>
    Consistent,
    /// <summary>A pending entry was never extended (crash before the extend): dropped.</summary>
    DroppedPendingEntry,
    /// <summary>A pending entry was extended (crash before its commit marker): committed.</summary>
    CommittedPendingEntry,
    /// <summary>The PCR is zeros but the log is not: the TPM was reset; a new boot segment began.</summary>
    NewBootSegment,
    Unreconcilable,
}

public sealed record ReconcileResult(ReconcileOutcome Outcome, string Description);
