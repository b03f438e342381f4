using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Kbs.Tests;

/// <summary>The scratch directories of launch tests, whose data directories the agent may mount memory-backed snapshot storage in.</summary>
internal static class LaunchDirectories
{
    /// <summary>Detaches every mount under <paramref name="directory"/> (the innermost first), then removes it.</summary>
    public static void Remove(string directory)
    {
        foreach (var mount in File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(directory + "/", StringComparison.Ordinal)).Reverse().ToList())
        {
            if (Libc.Umount2(mount, Libc.MNT_DETACH) != 0)
                throw new IOException($"umount {mount}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
        Directory.Delete(directory, recursive: true);
    }
}
