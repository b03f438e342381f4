using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>The scratch directories of launch tests, whose data directories the agent may mount memory-backed snapshot storage in.</summary>
internal static class LaunchDirectories
{
    /// <summary>Detaches every mount under <paramref name="directory"/>, then removes it.</summary>
    public static void Remove(string directory)
    {
        foreach (var mount in File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(directory + "/", StringComparison.Ordinal)))
            ProcessRunner.RunAsync("umount", ["-l", mount]).GetAwaiter().GetResult().EnsureSuccess("umount " + mount);
        Directory.Delete(directory, recursive: true);
    }
}
