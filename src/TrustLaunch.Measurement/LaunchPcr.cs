namespace TrustLaunch.Measurement;

/// <summary>Which PCR launch measurements go into.</summary>
public static class LaunchPcr
{
    /// <summary>
    /// PCR 13: in 8–15, so only a reboot resets it (unlike 16, the debug PCR, and 23, resettable by software), and on
    /// hosts that boot without a unified kernel image no boot component extends it (systemd-stub uses it for initrd
    /// system extensions; on such hosts configure another PCR). The log replays from zeros, so the PCR must start at zero.
    /// </summary>
    public const int Default = 13;

    /// <summary>Refuses a PCR that cannot hold launch measurements.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming why.</exception>
    public static int Validate(int pcr) => pcr switch
    {
        < 0 or > 23 => throw new ArgumentOutOfRangeException(nameof(pcr), pcr, $"PCR {pcr} does not exist: PCRs run from 0 to 23"),
        16 => throw new ArgumentOutOfRangeException(nameof(pcr), pcr, "PCR 16 is the debug PCR, resettable at any time: launch measurements must not go there"),
        23 => throw new ArgumentOutOfRangeException(nameof(pcr), pcr, "PCR 23 is the application PCR, resettable by software: launch measurements must not go there"),
        _ => pcr,
    };
}
