using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Runtime;

/// <summary>
/// Collects a container's exit status. <c>create</c> forks the container's init and exits, so the init is orphaned;
/// a process that is a child subreaper (<c>PR_SET_CHILD_SUBREAPER</c>) inherits it and can <c>waitpid</c> it. Only
/// the pids we started are waited for: .NET's own SIGCHLD handling reaps the processes it started and leaves the
/// others alone, and so must we.
/// </summary>
public static class ChildReaper
{
    /// <summary>Makes this process the reaper of its orphaned descendants (the container inits it creates).</summary>
    public static void BecomeSubreaper()
    {
        if (Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        {
            throw new RuntimeException($"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Waits for <paramref name="pid"/> (a child or an adopted orphan) on a thread of its own and returns its exit
    /// status as a shell would: the exit code, or 128 + the signal number that killed it.
    /// </summary>
    public static Task<int> WaitAsync(int pid) =>
        Task.Factory.StartNew(() => Wait(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static int Wait(int pid)
    {
        while (true)
        {
            var result = Libc.Waitpid(pid, out var status, 0);
            if (result == pid)
            {
                var signal = status & 0x7f;
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (result < 0 && errno != Libc.EINTR)
            {
                throw new RuntimeException($"waitpid({pid}) failed: errno {errno} (not our child?)");
            }
        }
    }
}
