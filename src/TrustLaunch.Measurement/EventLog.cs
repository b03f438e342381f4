using System.Text.Json;

namespace TrustLaunch.Measurement;

/// <summary>
/// The launch event log of one node: append-only, crash-safe, single writer, one file per boot segment.
/// <para>
/// On disk, in the log directory: <c>lock</c> (held with an exclusive flock while open, so a second agent on the same
/// directory is refused) and <c>segment-NNNNNN.jsonl</c>, one per boot segment (NNNNNN = <see cref="BootCount"/>;
/// the highest is current, older ones are archived). A segment holds JSON lines, each either
/// <c>{"record":CEL-RECORD}</c>, written and fsynced before the PCR is extended (the entry is then pending), or
/// <c>{"commit":RECNUM}</c>, written after the extend and made durable by the next entry's fsync (one fsync per
/// append: a commit marker lost to a crash is restored by <see cref="Reconcile"/>, which finds the pending record in the
/// PCR, or the crash reset the TPM and a new boot segment begins). Recnums start at 0 per segment; at most the last
/// record is pending. A trailing line without its LF is a write torn by a crash and is discarded on open.
/// </para>
/// <para>
/// After <see cref="Open"/> the log is <see cref="EventLogState.Unreconciled"/>: read the PCR and call
/// <see cref="Reconcile"/> before appending. Replay is SHA-256 from zeros: the launch PCR must start at zero.
/// </para>
/// </summary>
public sealed partial class EventLog : IDisposable
{
    private const string LockFileName = "lock";
    private const string SegmentPrefix = "segment-";
    private const string SegmentSuffix = ".jsonl";

    private readonly FileStream _lockFile;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly Lock _readLock = new();
    private readonly List<CelRecord> _committed = [];
    private readonly byte[] _pcrValue = new byte[EventLine.DigestSize];
    private FileStream _segment;
    private CelRecord? _pending;
    private long _pendingOffset;
    private string? _corruption;
    private bool _disposed;

    private EventLog(string directory, int pcr, FileStream lockFile, long bootCount)
    {
        Directory = directory;
        Pcr = pcr;
        _lockFile = lockFile;
        BootCount = bootCount;
        _segment = OpenSegment(bootCount, FileMode.OpenOrCreate);
        Load();
    }

    public string Directory { get; }
    public int Pcr { get; }

    /// <summary>Boot segments before the current one: 0 until the first TPM reset the log sees.</summary>
    public long BootCount { get; private set; }

    public EventLogState State { get; private set; } = EventLogState.Unreconciled;

    /// <summary>Why <see cref="State"/> is not <see cref="EventLogState.Ready"/>; null when it is.</summary>
    public string? Problem { get; private set; } = "the event log has not been reconciled with the PCR yet";

    /// <summary>Bytes of a torn trailing line discarded on open (0 when the last write was whole).</summary>
    public int TornBytesDiscarded { get; private set; }

    /// <summary>Committed records in the current boot segment.</summary>
    public long Count
    {
        get
        {
            lock (_readLock)
                return _committed.Count;
        }
    }

    /// <summary>What the committed records replay to: the PCR value when the log is <see cref="EventLogState.Ready"/>.</summary>
    public byte[] PcrValue
    {
        get
        {
            lock (_readLock)
                return (byte[])_pcrValue.Clone();
        }
    }

    /// <summary>Opens (creating it if needed) the log in <paramref name="directory"/> for launch PCR <paramref name="pcr"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The PCR cannot hold launch measurements (<see cref="LaunchPcr.Validate"/>).</exception>
    /// <exception cref="EventLogException">Another process has the log open.</exception>
    public static EventLog Open(string directory, int pcr = LaunchPcr.Default)
    {
        LaunchPcr.Validate(pcr);
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new EventLogException($"the event log in '{directory}' is in use by another writer (its lock file is held)", ex);
        }
        try
        {
            var bootCount = System.IO.Directory.EnumerateFiles(directory, SegmentPrefix + "*" + SegmentSuffix)
                .Select(f => long.TryParse(Path.GetFileName(f).AsSpan()[SegmentPrefix.Length..^SegmentSuffix.Length], out var n) ? n : -1)
                .DefaultIfEmpty(0)
                .Max();
            return new EventLog(directory, pcr, lockFile, Math.Max(bootCount, 0));
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Committed records of the current boot segment from <paramref name="recNum"/> on (empty past the end).</summary>
    public IReadOnlyList<CelRecord> ReadFrom(long recNum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(recNum);
        lock (_readLock)
            return recNum >= _committed.Count ? [] : _committed.GetRange((int)recNum, _committed.Count - (int)recNum);
    }

    /// <summary>
    /// Holds appends until disposed, so a quote and <see cref="ReadFrom"/> see the same log (an append in between
    /// would make the quoted PCR disagree with the records).
    /// </summary>
    public async Task<IDisposable> HoldAppendsAsync(CancellationToken cancellationToken = default)
    {
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_appendLock);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _segment.Dispose();
        _lockFile.Dispose();
        _appendLock.Dispose();
    }

    private string SegmentPath(long bootCount) => Path.Combine(Directory, $"{SegmentPrefix}{bootCount:D6}{SegmentSuffix}");

    private FileStream OpenSegment(long bootCount, FileMode mode)
    {
        var path = SegmentPath(bootCount);
        var created = !File.Exists(path);
        var stream = new FileStream(path, mode, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        if (created)
        {
            stream.Flush(flushToDisk: true);
            Durable.SyncDirectory(Directory);
        }
        return stream;
    }

    /// <summary>Reads the current segment, discarding a torn trailing line; a structural error makes the log corrupt.</summary>
    private void Load()
    {
        var bytes = new byte[_segment.Length];
        _segment.Position = 0;
        _segment.ReadExactly(bytes);
        var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (end < bytes.Length)
        {
            TornBytesDiscarded = bytes.Length - end;
            _segment.SetLength(end);
            _segment.Flush(flushToDisk: true);
        }
        var span = bytes.AsSpan(0, end);
        for (int offset = 0, lineNumber = 1; offset < end; lineNumber++)
        {
            var length = span[offset..].IndexOf((byte)'\n');
            _corruption = LoadLine(span.Slice(offset, length), offset);
            if (_corruption is not null)
            {
                _corruption = $"{Path.GetFileName(SegmentPath(BootCount))} line {lineNumber}: {_corruption}";
                return;
            }
            offset += length + 1;
        }
    }

    private string? LoadLine(ReadOnlySpan<byte> line, long offset)
    {
        EventLogEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(line, EventLogJsonContext.Default.EventLogEntry);
        }
        catch (JsonException ex)
        {
            return $"not JSON ({ex.Message})";
        }
        switch (entry)
        {
            case { Record: { } record, Commit: null }:
                if (_pending is not null)
                    return $"record {record.RecNum} follows the uncommitted record {_pending.RecNum}";
                if (record.RecNum != _committed.Count)
                    return $"record {record.RecNum} where record {_committed.Count} was expected";
                _pending = record;
                _pendingOffset = offset;
                return null;
            case { Record: null, Commit: { } commit }:
                if (_pending?.RecNum != commit)
                    return $"commit of record {commit} but the pending record is {(_pending is null ? "none" : _pending.RecNum)}";
                _committed.Add(_pending);
                _pending = null;
                return null;
            default:
                return "neither a record nor a commit marker";
        }
    }

    private void WriteEntry(EventLogEntry entry, bool durable = true)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(entry, EventLogJsonContext.Default.EventLogEntry);
        _segment.Seek(0, SeekOrigin.End);
        _segment.Write([.. bytes, (byte)'\n']);
        if (durable)
            _segment.Flush(flushToDisk: true);
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                semaphore.Release();
        }
    }
}
