using TrustLaunch.Agent.Runtime;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Finishes the log of a container whose monitor died (killed, OOM, node crash) after <c>ContainerCreated</c> but
/// before it measured <c>ContainerStopped</c>: once the container has ended (or, when asked to, after killing it, as
/// nothing would measure its end otherwise) <c>ContainerStopped</c> is measured — with the exit status the monitor
/// recorded, else <c>exit_code: null</c> and the reason — so it always precedes <c>ContainerDeleted</c>. A free
/// <c>monitor.lock</c> is what tells a dead monitor from a live one (the kernel drops a dead holder's flock).
/// </summary>
public sealed class ContainerRecovery(Func<string?, OciRuntime> runtimeFor, Func<IMeasurer> openMeasurer)
{
    public const string MonitorDied = "its monitor died before reaping it: exit status unknown";
    public const string KilledUnsupervised = "killed after its monitor died: exit status unknown";

    /// <summary>
    /// If the monitor of <paramref name="container"/> is gone and the container's end is not recorded: records it,
    /// and measures <c>ContainerStopped</c> when its creation was measured. A container still running is killed
    /// first only with <paramref name="kill"/>, else left as it is.
    /// </summary>
    /// <returns>The exit recorded for it, or null when there is nothing to recover (its monitor lives, or it runs on).</returns>
    public async Task<ContainerExit?> RecoverAsync(ContainerDirectory container, bool kill, CancellationToken cancellationToken)
    {
        if (container.StopMeasured || (!kill && !container.WasCreated))
            return null;
        using var monitorGone = FileLock.TryAcquire(container.MonitorLock);
        return monitorGone is null ? null : await RecoverUnsupervisedAsync(container, kill, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><see cref="RecoverAsync"/> for a caller that holds <c>monitor.lock</c> itself.</summary>
    public async Task<ContainerExit?> RecoverUnsupervisedAsync(ContainerDirectory container, bool kill, CancellationToken cancellationToken)
    {
        if (container.StopMeasured)
            return null;
        var exit = container.ReadExit();
        if (exit is null)
        {
            var runtime = runtimeFor(container.ReadRecord()?.Runtime);
            var killed = false;
            if (await runtime.StateAsync(container.Name, cancellationToken).ConfigureAwait(false) is { Status: not "stopped" })
            {
                if (!kill)
                    return null;
                await runtime.KillAsync(container.Name, "KILL", cancellationToken).ConfigureAwait(false);
                await WaitStoppedAsync(runtime, container.Name, cancellationToken).ConfigureAwait(false);
                killed = true;
            }
            exit = new ContainerExit(null, DateTimeOffset.UtcNow, killed ? KilledUnsupervised : MonitorDied);
            container.WriteExit(exit);
        }
        if (container.WasCreated)
        {
            using var measurer = openMeasurer();
            await ContainerMeasurements.MeasureStoppedAsync(measurer, container, exit, cancellationToken).ConfigureAwait(false);
            container.AppendMonitorLog($"recovered: ContainerStopped measured ({exit.Reason ?? $"exit code {exit.ExitCode}"})");
        }
        return exit;
    }

    private static async Task WaitStoppedAsync(OciRuntime runtime, string name, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await runtime.StateAsync(name, cancellationToken).ConfigureAwait(false) is { Status: not "stopped" })
        {
            if (DateTime.UtcNow >= deadline)
                throw new RuntimeException($"container '{name}' did not stop after SIGKILL");
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }
    }
}
