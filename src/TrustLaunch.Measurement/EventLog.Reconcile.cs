using System.Security.Cryptography;

namespace TrustLaunch.Measurement;

public sealed partial class EventLog
{
    /// <summary>
    /// Brings log and PCR into agreement after a start or a failed append, given the launch PCR's current SHA-256
    /// value: committed entries replay to it → a trailing pending entry was never extended and is dropped; with the
    /// pending entry they replay to it → the entry is committed; the PCR is zeros but the log is not → the TPM was
    /// reset, a new boot segment begins; anything else → <see cref="EventLogState.Unreconcilable"/>, saying what
    /// did not match. Appends are refused until this returns anything but <see cref="ReconcileOutcome.Unreconcilable"/>.
    /// </summary>
    public ReconcileResult Reconcile(ReadOnlySpan<byte> currentPcrValue)
    {
        if (currentPcrValue.Length != EventLine.DigestSize)
            throw new ArgumentException($"the SHA-256 PCR value is {EventLine.DigestSize} bytes, not {currentPcrValue.Length}", nameof(currentPcrValue));
        _appendLock.Wait();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var result = ReconcileCore(currentPcrValue);
            (State, Problem) = result.Outcome == ReconcileOutcome.Unreconcilable
                ? (EventLogState.Unreconcilable, result.Description)
                : (EventLogState.Ready, null);
            return result;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private ReconcileResult ReconcileCore(ReadOnlySpan<byte> current)
    {
        if (_corruption is not null)
            return Unreconcilable($"the event log is corrupt: {_corruption}");
        var committedReplay = new ReplayState(Pcr).Advance(_committed);
        if (!committedReplay.IsValid)
            return Unreconcilable($"the event log is corrupt: {committedReplay.Failure!.Reason}");
        SetPcrValue(committedReplay.PcrValue);
        if (CryptographicOperations.FixedTimeEquals(committedReplay.PcrValue, current))
        {
            if (_pending is null)
                return new ReconcileResult(ReconcileOutcome.Consistent, $"PCR {Pcr} matches the {_committed.Count} committed entries");
            var dropped = _pending.RecNum;
            _segment.SetLength(_pendingOffset);
            _segment.Flush(flushToDisk: true);
            _pending = null;
            return new ReconcileResult(ReconcileOutcome.DroppedPendingEntry, $"record {dropped} was written but never extended into PCR {Pcr}: dropped");
        }
        byte[]? withPending = null;
        if (_pending is not null)
        {
            var pendingReplay = new ReplayState(Pcr).Advance([.. _committed, _pending]);
            if (pendingReplay.IsValid)
                withPending = pendingReplay.PcrValue;
        }
        if (withPending is not null && CryptographicOperations.FixedTimeEquals(withPending, current))
        {
            var pending = _pending!;
            WriteEntry(new EventLogEntry(null, pending.RecNum));
            lock (_readLock)
                _committed.Add(pending);
            _pending = null;
            SetPcrValue(withPending);
            return new ReconcileResult(ReconcileOutcome.CommittedPendingEntry, $"record {pending.RecNum} was extended into PCR {Pcr} before the crash: committed");
        }
        if (!current.ContainsAnyExcept((byte)0))
        {
            StartBootSegment();
            return new ReconcileResult(ReconcileOutcome.NewBootSegment, $"PCR {Pcr} is zeros: the TPM was reset; boot segment {BootCount} begins");
        }
        var pendingNote = _pending is null ? "" :
            withPending is null ? $", and the pending record {_pending.RecNum} is malformed" :
            $", or {Convert.ToHexStringLower(withPending)} with the pending record {_pending.RecNum}";
        return Unreconcilable(
            $"PCR {Pcr} does not match the event log: expected {Convert.ToHexStringLower(committedReplay.PcrValue)} from {_committed.Count} committed entries{pendingNote}, " +
            $"found {Convert.ToHexStringLower(current)}; the PCR was extended outside the log or the log lost entries");
    }

    private static ReconcileResult Unreconcilable(string reason) => new(ReconcileOutcome.Unreconcilable, reason);

    private void SetPcrValue(byte[] value)
    {
        lock (_readLock)
            value.CopyTo(_pcrValue, 0);
    }

    private void StartBootSegment()
    {
        var next = OpenSegment(BootCount + 1, FileMode.CreateNew);
        _segment.Dispose();
        _segment = next;
        lock (_readLock)
        {
            BootCount++;
            _committed.Clear();
            Array.Clear(_pcrValue);
        }
        _pending = null;
    }
}
