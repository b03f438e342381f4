namespace TrustLaunch.Measurement;

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
