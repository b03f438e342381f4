using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Verifier.Appraisal;

/// <summary>
/// What the verifier remembers of an agent between quotes: the launch PCR value the log replayed to so far, the next
/// record it expects, the clock of the last accepted quote (null before the first), the agent's boot count, the image
/// digests a trusted publisher vouched for in this boot (so a later <c>ContainerCreated</c> may use them), and the
/// containers created in this boot and not deleted since, with their image manifest digests (so later lifecycle
/// events must name one of them, and the key broker can tell which image a calling container runs).
/// </summary>
public sealed record AppraisalState(
    byte[] LaunchPcrValue,
    long NextRecNum,
    TpmClockInfo? LastClock,
    long BootCount,
    IReadOnlySet<string> VerifiedImages,
    IReadOnlyDictionary<string, string> CreatedContainers)
{
    public const int PcrValueSize = 32;

    /// <summary>Nothing seen yet: a zero PCR, record 0.</summary>
    public static AppraisalState Initial { get; } = new(new byte[PcrValueSize], 0, null, 0, EmptySet(), EmptyMap());

    /// <summary>A fresh boot: PCR and log start over, and what the old boot verified and created is forgotten; the clock is the new boot's.</summary>
    public AppraisalState Rebooted(TpmClockInfo clock, long bootCount) =>
        new(new byte[PcrValueSize], 0, clock, bootCount, EmptySet(), EmptyMap());

    private static HashSet<string> EmptySet() => new(StringComparer.Ordinal);

    private static Dictionary<string, string> EmptyMap() => new(StringComparer.Ordinal);
}
