using System.Diagnostics;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// The demo's long-running children (swtpm, docker-registry, trustlaunch services): each started in a session of its
/// own (so a Ctrl-C reaches the demo, which then stops everything in order) with its output appended to a log file (no
/// pipe anyone has to drain); known by pid afterwards, so a later <c>demo --clean</c> can stop what <c>--keep</c> left.
/// </summary>
internal static class DemoProcess
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Starts <paramref name="command"/>, reports its pid to <paramref name="started"/> and waits until <paramref name="ready"/> says so.</summary>
    public static async Task<int> StartAsync(string name, ProcessStartInfo command, string logFile, Func<Task<bool>> ready, Action<int> started,
        CancellationToken cancellationToken)
    {
        // setsid and sh both exec, so the pid is the service's own.
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var argument in new[] { "sh", "-c", "exec \"$0\" \"$@\" >>\"$TRUSTLAUNCH_DEMO_LOG\" 2>&1", command.FileName })
            start.ArgumentList.Add(argument);
        foreach (var argument in command.ArgumentList)
            start.ArgumentList.Add(argument);
        start.Environment["TRUSTLAUNCH_DEMO_LOG"] = logFile;
        using var process = Process.Start(start) ?? throw new CliFailureException($"cannot start {name}");
        process.StandardInput.Close();
        started(process.Id);
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            if (process.HasExited)
                throw new CliFailureException($"{name} exited with {process.ExitCode} while starting: {LogTail(logFile)}");
            if (await ready().ConfigureAwait(false))
                return process.Id;
            if (DateTime.UtcNow > deadline)
            {
                await StopAsync(process.Id).ConfigureAwait(false);
                throw new CliFailureException($"{name} was not ready within {ReadyTimeout.TotalSeconds:0} s: {LogTail(logFile)}");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it is still running after a while.</summary>
    public static async Task StopAsync(int pid)
    {
        if (!IsRunning(pid))
            return;
        _ = Libc.Kill(pid, Libc.SIGTERM);
        var deadline = DateTime.UtcNow + StopTimeout;
        while (IsRunning(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                _ = Libc.Kill(pid, Libc.SIGKILL);
                deadline = DateTime.MaxValue;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>Alive and not a zombie (<c>/proc/PID/stat</c>'s state after the command name).</summary>
    public static bool IsRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        var end = stat.LastIndexOf(')');
        return end > 0 && end + 2 < stat.Length && stat[end + 2] is not ('Z' or 'X');
    }

    /// <summary>The last lines of a log, on one line, for an error message.</summary>
    public static string LogTail(string logFile)
    {
        var lines = File.Exists(logFile) ? File.ReadAllLines(logFile).Where(l => l.Trim().Length > 0).TakeLast(3).ToList() : [];
        return lines.Count == 0 ? $"no output (log {logFile})" : $"{string.Join(" | ", lines)} (log {logFile})";
    }
}
