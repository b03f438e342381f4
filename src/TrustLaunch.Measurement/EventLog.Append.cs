using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TrustLaunch.Measurement;

public sealed partial class EventLog
{
    /// <summary>
    /// Appends the event line <c>trustlaunch OPERATION CONTENT</c>: writes the record durably as pending, calls
    /// <paramref name="extendPcr"/> with its SHA-256 digest (the caller extends the launch PCR's SHA-256 bank), then
    /// commits it (durable with the next append; <see cref="Reconcile"/> restores a lost commit from the PCR). Appends
    /// are serialised. If the extend or the commit fails the log goes back to <see cref="EventLogState.Unreconciled"/>:
    /// whether the PCR moved is unknown until <see cref="Reconcile"/>.
    /// </summary>
    /// <exception cref="EventLogException">The log is not <see cref="EventLogState.Ready"/>, with <see cref="Problem"/>.</exception>
    public Task<CelRecord> AppendAsync(string operation, JsonElement content, Func<byte[], CancellationToken, Task> extendPcr, CancellationToken cancellationToken = default) =>
        AppendLineAsync(EventLine.Format(LaunchEvents.Domain, operation, content), extendPcr, cancellationToken);

    /// <summary><see cref="AppendAsync(string, JsonElement, Func{byte[], CancellationToken, Task}, CancellationToken)"/> for typed content.</summary>
    public Task<CelRecord> AppendAsync<T>(string operation, T content, JsonTypeInfo<T> typeInfo, Func<byte[], CancellationToken, Task> extendPcr, CancellationToken cancellationToken = default) =>
        AppendLineAsync(EventLine.Format(LaunchEvents.Domain, operation, content, typeInfo), extendPcr, cancellationToken);

    private async Task<CelRecord> AppendLineAsync(string line, Func<byte[], CancellationToken, Task> extendPcr, CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (State != EventLogState.Ready)
                throw new EventLogException($"the event log refuses appends: {Problem}");
            var record = EventLogReplay.CreateRecord(_committed.Count, Pcr, line);
            var digest = EventLine.Digest(line);
            WritePending(record);
            try
            {
                await extendPcr(digest, cancellationToken).ConfigureAwait(false);
                WriteEntry(new EventLogEntry(null, record.RecNum), durable: false);
            }
            catch (Exception ex)
            {
                State = EventLogState.Unreconciled;
                Problem = $"appending record {record.RecNum} failed after it was written ({ex.Message}): reconcile with PCR {Pcr} before appending";
                throw;
            }
            lock (_readLock)
            {
                _committed.Add(record);
                _pending = null;
                ReplayState.Extend(_pcrValue, digest);
            }
            return record;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private void WritePending(CelRecord record)
    {
        var length = _segment.Length;
        try
        {
            WriteEntry(new EventLogEntry(record, null));
            _pending = record;
            _pendingOffset = length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                _segment.SetLength(length);
                _segment.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                State = EventLogState.Unreconcilable;
                Problem = $"writing record {record.RecNum} failed ({ex.Message}) and the segment could not be restored: reopen the log";
            }
            throw;
        }
    }
}
