using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;

namespace TrustLaunch.Verifier.Appraisal;

public static partial class Appraiser
{
    private const int StackLineLimit = 1024;

    /// <summary>
    /// Replays the new records onto the running value: each must be the next recnum, for the launch PCR, an event
    /// line whose SHA-256 is its sha256 digest; pcr = H(pcr || digest). The result must equal the quoted value. Any
    /// break is a broken evidence chain (edited, dropped, re-ordered, truncated or foreign records).
    /// </summary>
    private static AppraisalOutcome? Replay(AppraisalState previous, QuoteEvidence evidence, int launchPcr,
        ReadOnlySpan<byte> quoted, out byte[] running)
    {
        running = (byte[])previous.LaunchPcrValue.Clone();
        if (evidence.EventsFrom != previous.NextRecNum)
            return ChainBroken($"log starts at record {evidence.EventsFrom}, expected {previous.NextRecNum}");
        if (evidence.LogLength != evidence.EventsFrom + evidence.Events.Count)
            return ChainBroken($"log has {evidence.LogLength} records but the evidence ends at {evidence.EventsFrom + evidence.Events.Count}");

        Span<byte> pair = stackalloc byte[2 * AppraisalState.PcrValueSize];
        Span<byte> claimed = stackalloc byte[AppraisalState.PcrValueSize];
        Span<byte> computed = stackalloc byte[AppraisalState.PcrValueSize];
        var expectedRecNum = previous.NextRecNum;
        foreach (var record in evidence.Events)
        {
            if (record.RecNum != expectedRecNum)
                return ChainBroken($"record {record.RecNum} found where record {expectedRecNum} was expected", expectedRecNum);
            if (record.Pcr != launchPcr)
                return ChainBroken($"record {record.RecNum} is for PCR {record.Pcr}, not the launch PCR {launchPcr}", record.RecNum);
            if (record.ContentType != CelRecord.EventLineContentType)
                return ChainBroken($"record {record.RecNum} has content type '{record.ContentType}', expected {CelRecord.EventLineContentType}", record.RecNum);
            if (!TryReadSha256(record, claimed))
                return ChainBroken($"record {record.RecNum} has no sha256 digest of 64 hex digits", record.RecNum);
            HashLine(record.Content, computed);
            if (!CryptographicOperations.FixedTimeEquals(computed, claimed))
                return ChainBroken($"record {record.RecNum}: digest does not match its content", record.RecNum);
            running.CopyTo(pair);
            computed.CopyTo(pair[AppraisalState.PcrValueSize..]);
            SHA256.HashData(pair, running);
            expectedRecNum++;
        }
        if (!CryptographicOperations.FixedTimeEquals(running, quoted))
            return ChainBroken($"log does not replay to PCR {launchPcr}: expected {Convert.ToHexStringLower(quoted)} found {Convert.ToHexStringLower(running)}");
        return null;
    }

    private static AppraisalOutcome ChainBroken(string reason, long? recnum = null) =>
        AppraisalOutcome.Failed(AppraisalFailure.LogChain, "broken evidence chain: " + reason, recnum);

    private static bool TryReadSha256(CelRecord record, Span<byte> destination)
    {
        foreach (var d in record.Digests)
        {
            if (d.HashAlg == Sha256Bank)
                return d.Digest.Length == 2 * AppraisalState.PcrValueSize
                    && Convert.FromHexString(d.Digest, destination, out _, out var written) == OperationStatus.Done
                    && written == destination.Length;
        }
        return false;
    }

    private static void HashLine(string line, Span<byte> destination)
    {
        var max = Encoding.UTF8.GetMaxByteCount(line.Length);
        byte[]? rented = max > StackLineLimit ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[StackLineLimit];
        var length = Encoding.UTF8.GetBytes(line, buffer);
        SHA256.HashData(buffer[..length], destination);
        if (rented is not null)
            ArrayPool<byte>.Shared.Return(rented);
    }
}
