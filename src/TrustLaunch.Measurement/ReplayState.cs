using System.Buffers;
using System.Security.Cryptography;

namespace TrustLaunch.Measurement;

/// <summary>
/// Incremental replay of one boot segment of a launch event log: the running PCR value (SHA-256 bank) and the next
/// recnum. A verifier restores one per agent from what it stored after the last good quote (<see cref="Restore"/>),
/// applies the records new since then together with the quoted PCR value, and starts a fresh one when the TPM was
/// reset. Not thread-safe.
/// </summary>
public sealed class ReplayState
{
    private readonly byte[] _pcrValue = new byte[EventLine.DigestSize];

    /// <summary>A replay from zeros and record 0; every line is checked canonical (<see cref="EventLineCheck.Canonical"/>).</summary>
    public ReplayState(int pcr, EventLineCheck lines = EventLineCheck.Canonical)
    {
        Pcr = LaunchPcr.Validate(pcr);
        Lines = lines;
    }

    /// <summary>Continues a replay that had reached <paramref name="pcrValue"/> with <paramref name="nextRecNum"/> as the next record.</summary>
    /// <exception cref="ArgumentException">The value is not a SHA-256 PCR value, or the record number is negative.</exception>
    public static ReplayState Restore(int pcr, ReadOnlySpan<byte> pcrValue, long nextRecNum, EventLineCheck lines = EventLineCheck.Canonical)
    {
        if (pcrValue.Length != EventLine.DigestSize)
            throw new ArgumentException($"the SHA-256 PCR value is {EventLine.DigestSize} bytes, not {pcrValue.Length}", nameof(pcrValue));
        ArgumentOutOfRangeException.ThrowIfNegative(nextRecNum);
        var state = new ReplayState(pcr, lines) { NextRecNum = nextRecNum };
        pcrValue.CopyTo(state._pcrValue);
        return state;
    }

    public int Pcr { get; }
    public EventLineCheck Lines { get; }
    public long NextRecNum { get; private set; }
    public ReadOnlySpan<byte> PcrValue => _pcrValue;

    /// <summary>
    /// Checks <paramref name="records"/> (content type, recnum contiguous from <see cref="NextRecNum"/>, PCR, digest =
    /// SHA-256 of the content, well-formed event line), then that they replay to <paramref name="quotedPcrValue"/>.
    /// Advances only when all of that holds.
    /// </summary>
    public ReplayResult Apply(IReadOnlyList<CelRecord> records, ReadOnlySpan<byte> quotedPcrValue)
    {
        var result = Replay(records);
        if (result.IsValid && !CryptographicOperations.FixedTimeEquals(result.PcrValue, quotedPcrValue))
        {
            result = result with
            {
                Failure = new ReplayFailure(ReplayFailureKind.FinalValueMismatch, null,
                    $"final value mismatch for PCR {Pcr} {(result.NextRecNum == 0 ? "with no records" : $"after recnum {result.NextRecNum - 1}")}: " +
                    $"expected {Convert.ToHexStringLower(quotedPcrValue)} (quoted), " +
                    $"found {Convert.ToHexStringLower(result.PcrValue)} (replayed)"),
            };
        }
        if (result.IsValid)
            Commit(result);
        return result;
    }

    /// <summary>Checks and replays records with no value to compare against; the event log's own reconciliation.</summary>
    internal ReplayResult Advance(IReadOnlyList<CelRecord> records)
    {
        var result = Replay(records);
        if (result.IsValid)
            Commit(result);
        return result;
    }

    /// <summary>pcr' = SHA-256(pcr || digest), into <paramref name="pcrValue"/>.</summary>
    internal static void Extend(Span<byte> pcrValue, ReadOnlySpan<byte> digest)
    {
        Span<byte> buffer = stackalloc byte[2 * EventLine.DigestSize];
        pcrValue.CopyTo(buffer);
        digest.CopyTo(buffer[EventLine.DigestSize..]);
        SHA256.HashData(buffer, pcrValue);
    }

    private void Commit(ReplayResult result)
    {
        result.PcrValue.CopyTo(_pcrValue, 0);
        NextRecNum = result.NextRecNum;
    }

    private ReplayResult Replay(IReadOnlyList<CelRecord> records)
    {
        var value = (byte[])_pcrValue.Clone();
        var next = NextRecNum;
        var events = new List<ReplayedEvent>(records.Count);
        Span<byte> recorded = stackalloc byte[EventLine.DigestSize];
        Span<byte> computed = stackalloc byte[EventLine.DigestSize];
        foreach (var record in records)
        {
            var failure = Check(record, next, recorded, computed);
            EventLine? line = null;
            if (failure is null)
            {
                try
                {
                    line = EventLine.Parse(record.Content, Lines);
                }
                catch (FormatException ex)
                {
                    failure = new ReplayFailure(ReplayFailureKind.MalformedLine, record.RecNum, $"malformed event line at recnum {record.RecNum}: {ex.Message}");
                }
            }
            if (failure is not null)
                return new ReplayResult(failure, (byte[])_pcrValue.Clone(), NextRecNum, []);
            Extend(value, recorded);
            events.Add(new ReplayedEvent(record, line!));
            next++;
        }
        return new ReplayResult(null, value, next, events);
    }

    private ReplayFailure? Check(CelRecord record, long expectedRecNum, Span<byte> recorded, Span<byte> computed)
    {
        if (record.RecNum != expectedRecNum)
            return new ReplayFailure(ReplayFailureKind.OutOfOrder, record.RecNum, $"gap or re-order: expected recnum {expectedRecNum}, found {record.RecNum}");
        if (record.ContentType != CelRecord.EventLineContentType)
            return new ReplayFailure(ReplayFailureKind.WrongContentType, record.RecNum,
                $"wrong content type at recnum {record.RecNum}: expected '{CelRecord.EventLineContentType}', found '{record.ContentType}'");
        if (record.Pcr != Pcr)
            return new ReplayFailure(ReplayFailureKind.WrongPcr, record.RecNum, $"wrong PCR at recnum {record.RecNum}: expected {Pcr}, found {record.Pcr}");
        if (record.Digests is not [{ HashAlg: "sha256", Digest: { } digest }]
            || Convert.FromHexString(digest, recorded, out _, out var written) != OperationStatus.Done
            || written != EventLine.DigestSize)
        {
            return new ReplayFailure(ReplayFailureKind.MalformedDigest, record.RecNum,
                $"malformed digests at recnum {record.RecNum}: expected exactly one sha256 digest of 64 hex digits");
        }
        if (record.Content is null)
            return new ReplayFailure(ReplayFailureKind.MalformedLine, record.RecNum, $"malformed event line at recnum {record.RecNum}: the record has no content");
        EventLine.ComputeDigest(record.Content, computed);
        if (!CryptographicOperations.FixedTimeEquals(recorded, computed))
            return new ReplayFailure(ReplayFailureKind.DigestMismatch, record.RecNum, $"digest mismatch at recnum {record.RecNum}: the sha256 digest is not SHA-256 of the content");
        return null;
    }
}
