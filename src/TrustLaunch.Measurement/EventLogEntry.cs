using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>One line of an event log segment file: a record written before its extend, or the commit marker after.</summary>
internal sealed record EventLogEntry(
    [property: JsonPropertyName("record"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CelRecord? Record,
    [property: JsonPropertyName("commit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Commit);

[JsonSerializable(typeof(EventLogEntry))]
internal sealed partial class EventLogJsonContext : JsonSerializerContext;

/// <summary>Why the log refuses appends or what reconciliation did.</summary>
public sealed class EventLogException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

public enum EventLogState
{
    /// <summary>Opened (or an append failed between write and commit): reconcile against the PCR before appending.</summary>
    Unreconciled,
    Ready,
    /// <summary>Log and PCR disagree, or the log is corrupt: no appends; <see cref="EventLog.Problem"/> says why.</summary>
    Unreconcilable,
}

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
