using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// Takes a demo directory down: its containers removed (<c>rm --force</c>, measured by the agent while it still
/// runs), overlays unmounted, the children in <c>processes</c> stopped in reverse start order, the directory deleted.
/// Used at the end of a demo and by <c>demo --clean DIR</c> after <c>--keep</c>.
/// </summary>
internal static class DemoCleanup
{
    public static async Task RunAsync(DemoStack stack, TextWriter output)
    {
        var containers = Path.Combine(stack.NodeDataDirectory, "containers");
        foreach (var container in Directory.Exists(containers) ? Directory.GetDirectories(containers) : [])
        {
            var outcome = await DemoTools.RunAsync(stack.TrustLaunch(["rm", "--force", Path.GetFileName(container)]), CancellationToken.None).ConfigureAwait(false);
            if (outcome.ExitCode != 0)
                await output.WriteLineAsync($"cleanup: rm {Path.GetFileName(container)}: {CliApp.OneLine(outcome.Stderr.Trim())}").ConfigureAwait(false);
            OverlayRootfs.Unmount(Path.Combine(container, "bundle", "rootfs"));
        }

        var processes = Path.Combine(stack.Directory, DemoStack.ProcessesFile);
        var started = File.Exists(processes) ? File.ReadAllLines(processes) : [];
        foreach (var line in started.Reverse())
        {
            if (line.Split(' ') is [_, var pid] && int.TryParse(pid, out var id))
                await DemoProcess.StopAsync(id).ConfigureAwait(false);
        }

        var mounted = MountsUnder(stack.Directory);
        if (mounted.Count > 0)
        {
            await output.WriteLineAsync($"cleanup: left {stack.Directory} in place: still mounted: {string.Join(", ", mounted)}").ConfigureAwait(false);
            return;
        }
        Directory.Delete(stack.Directory, recursive: true);
    }

    /// <summary>Mount points at or below <paramref name="directory"/> (field 5 of /proc/self/mountinfo).</summary>
    private static List<string> MountsUnder(string directory)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + "/";
        return File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Where(f => f.Length > 4)
            .Select(f => f[4].Replace("\\040", " ")).Where(m => (m + "/").StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }
}
