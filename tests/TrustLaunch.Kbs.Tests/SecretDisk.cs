namespace TrustLaunch.Kbs.Tests;

/// <summary>Where a secret's value may have gone on this host: the mounts (the agents share this mount namespace) and files on disk.</summary>
internal static class SecretDisk
{
    /// <summary>Mount point → (type, options) of the last mount at each point.</summary>
    public static Dictionary<string, (string Type, string Options)> Mounts() =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).GroupBy(f => f[1].Replace("\\040", " ", StringComparison.Ordinal))
            .ToDictionary(g => g.Key, g => (g.Last()[2], g.Last()[3]));

    /// <summary>
    /// The regular files under <paramref name="directory"/> on its own filesystem (tmpfs and overlay mounts below it left
    /// out) that hold <paramref name="text"/>, one a line; empty when none does.
    /// </summary>
    public static async Task<string> FilesHoldingAsync(string directory, string text)
    {
        var found = await TrustLaunch.Testing.ProcessRunner.RunAsync("find", [directory, "-xdev", "-type", "f", "-exec", "grep", "-lF", "--", text, "{}", "+"]);
        return found.StandardOutput + found.StandardError;
    }
}
