namespace TrustLaunch.Measurement;

public enum ReplayFailureKind
{
    /// <summary>A record's content_type is not <see cref="CelRecord.EventLineContentType"/>.</summary>
    WrongContentType,
    /// <summary>A gap, re-order or repeat: the recnum is not the next one.</summary>
    OutOfOrder,
    /// <summary>A record names another PCR than the launch PCR.</summary>
    WrongPcr,
    /// <summary>The digests are not exactly one well-formed sha256 digest.</summary>
    MalformedDigest,
    /// <summary>The sha256 digest is not SHA-256 of the content.</summary>
    DigestMismatch,
    /// <summary>The content is not a well-formed event line.</summary>
    MalformedLine,
    /// <summary>The records replay to another value than the PCR holds.</summary>
    FinalValueMismatch,
}

/// <summary>Why a replay failed; <see cref="RecNum"/> is the event index (null for a final value mismatch).</summary>
public sealed record ReplayFailure(ReplayFailureKind Kind, long? RecNum, string Reason);

/// <summary>A checked record with its parsed line, for policy evaluation.</summary>
public sealed record ReplayedEvent(CelRecord Record, EventLine Line);

/// <summary>
/// The outcome of replaying records: on success the new running PCR value and next recnum, and the events; on
/// failure the first <see cref="Failure"/> (the state it was applied to does not move).
/// </summary>
public sealed record ReplayResult(ReplayFailure? Failure, byte[] PcrValue, long NextRecNum, IReadOnlyList<ReplayedEvent> Events)
{
    public bool IsValid => Failure is null;
}
