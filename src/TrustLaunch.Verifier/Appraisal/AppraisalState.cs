using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Verifier.Appraisal;

/// <summary>
/// What the verifier remembers of an agent between quotes: the launch PCR value the log replayed to so far, the next
/// record it expects, the clock of the last accepted quote (null before the first), the agent's boot count, and the
/// image digests a trusted publisher vouched for in this boot (so a later <c>ContainerCreated</c> may use them).
/// </summary>
public sealed record AppraisalState(
    byte[] LaunchPcrValue,
    long NextRecNum,
    TpmClockInfo? LastClock,
    long BootCount,
    IReadOnlySet<string> VerifiedImages)
{
    public const int PcrValueSize = 32;

    /// <summary>Nothing seen yet: a zero PCR, record 0.</summary>
    public static AppraisalState Initial { get; } = new(new byte[PcrValueSize], 0, null, 0, new HashSet<string>(StringComparer.Ordinal));

    /// <summary>A fresh boot: PCR and log start over; the clock is the new boot's.</summary>
    public AppraisalState Rebooted(TpmClockInfo clock, long bootCount) =>
        new(new byte[PcrValueSize], 0, clock, bootCount, new HashSet<string>(StringComparer.Ordinal));
}
