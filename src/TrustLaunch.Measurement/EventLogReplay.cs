namespace TrustLaunch.Measurement;

/// <summary>Full replay of a launch event log boot segment from zeros (see <see cref="ReplayState"/> for the checks).</summary>
public static class EventLogReplay
{
    /// <summary>Replays <paramref name="records"/> (recnum from 0) and compares the result with the quoted PCR value.</summary>
    public static ReplayResult Replay(IReadOnlyList<CelRecord> records, int pcr, ReadOnlySpan<byte> quotedPcrValue) =>
        new ReplayState(pcr).Apply(records, quotedPcrValue);

    /// <summary>The CEL record of an event line: one sha256 digest of the UTF-8 line.</summary>
    public static CelRecord CreateRecord(long recNum, int pcr, string eventLine) =>
        new(recNum, pcr, [new CelDigest("sha256", Convert.ToHexStringLower(EventLine.Digest(eventLine)))], CelRecord.EventLineContentType, eventLine);

    /// <summary>pcr' = SHA-256(pcr || digest).</summary>
    public static byte[] Extend(ReadOnlySpan<byte> pcrValue, ReadOnlySpan<byte> digest)
    {
        var result = pcrValue.ToArray();
        ReplayState.Extend(result, digest);
        return result;
    }
}
