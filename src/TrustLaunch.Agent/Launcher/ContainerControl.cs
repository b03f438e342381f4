using TrustLaunch.Agent.Runtime;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Agent.Launcher;

/// <summary>A container as <c>trustlaunch ps</c> shows it. <see cref="Status"/>: created, running, exited, unknown.</summary>
public sealed record ContainerSummary(ContainerRecord Record, string Status, int Pid, ContainerExit? Exit);

/// <summary>
/// <c>ps</c>, <c>stop</c> and <c>rm</c> over the launcher's containers. Stopping only signals: the container's monitor
/// reaps it and measures <c>ContainerStopped</c>; removing deletes it from the runtime and measures
/// <c>ContainerDeleted</c> before its files go, once the container's monitor has exited (so after its <c>ContainerStopped</c>).
/// Each container is driven by the runtime its record names; <paramref name="runtimeFor"/> opens one by name (null:
/// the default, for records that name none). Every command first recovers the containers whose monitor died
/// (<see cref="ContainerRecovery"/>), measuring through <paramref name="openMeasurer"/>.
/// </summary>
public sealed class ContainerControl(string dataDir, Func<string?, OciRuntime> runtimeFor, Func<IMeasurer> openMeasurer)
{
    private readonly ContainerRecovery _recovery = new(runtimeFor, openMeasurer);

    /// <summary>Measures the missing <c>ContainerStopped</c> of every ended container whose monitor died.</summary>
    public async Task RecoverAsync(CancellationToken cancellationToken = default)
    {
        foreach (var container in ContainerDirectory.List(dataDir))
            await _recovery.RecoverAsync(container, kill: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ContainerSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<ContainerSummary>();
        foreach (var container in ContainerDirectory.List(dataDir))
        {
            await _recovery.RecoverAsync(container, kill: false, cancellationToken).ConfigureAwait(false);
            if (await SummarizeAsync(container, cancellationToken).ConfigureAwait(false) is { } summary)
            {
                list.Add(summary);
            }
        }
        return list;
    }

    public async Task<ContainerSummary> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var container = ContainerDirectory.Open(dataDir, name);
        await _recovery.RecoverAsync(container, kill: false, cancellationToken).ConfigureAwait(false);
        return await SummarizeAsync(container, cancellationToken).ConfigureAwait(false)
            ?? throw new LauncherException($"no container named '{name}'");
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="timeout"/>; returns the exit status the monitor recorded.</summary>
    public async Task<ContainerExit> StopAsync(string name, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var container = ContainerDirectory.Open(dataDir, name);
        if (container.ReadExit() is { } done)
        {
            return done;
        }
        // No monitor would record the exit: it is killed and recorded here.
        if (await _recovery.RecoverAsync(container, kill: true, cancellationToken).ConfigureAwait(false) is { } unsupervised)
        {
            return unsupervised;
        }
        await SignalAsync(container, "TERM", cancellationToken).ConfigureAwait(false);
        if (await WaitForExitAsync(container, timeout, cancellationToken).ConfigureAwait(false) is { } exit)
        {
            return exit;
        }
        await SignalAsync(container, "KILL", cancellationToken).ConfigureAwait(false);
        return await WaitForExitAsync(container, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false)
            ?? throw new RuntimeException($"container '{name}' did not exit after SIGKILL (its monitor records the exit: see {container.MonitorLog})");
    }

    /// <summary>
    /// Deletes a stopped container (with <paramref name="force"/>, stops it first) and measures the deletion — after
    /// its stop, which is measured here if its monitor died first; a container whose creation was never measured
    /// leaves no deletion in the log either.
    /// </summary>
    public async Task RemoveAsync(string name, bool force, IMeasurer measurer, CancellationToken cancellationToken = default)
    {
        var container = ContainerDirectory.Open(dataDir, name);
        var runtime = RuntimeOf(container);
        if (container.ReadExit() is null && await runtime.StateAsync(name, cancellationToken).ConfigureAwait(false) is { Status: not "stopped" } state)
        {
            if (!force)
            {
                throw new LauncherException($"container '{name}' is {state.Status}: stop it first, or remove it with --force");
            }
            await StopAsync(name, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        // A monitor still running has yet to measure ContainerStopped (or is retrying it): its lock goes when it is done.
        using var monitorDone = await FileLock.AcquireAsync(container.MonitorLock, cancellationToken).ConfigureAwait(false);
        // A monitor that gave up measuring ContainerStopped (the agent was away too long) left it to us.
        await _recovery.RecoverUnsupervisedAsync(container, kill: force, cancellationToken).ConfigureAwait(false);
        if (await runtime.StateAsync(name, cancellationToken).ConfigureAwait(false) is not null)
        {
            await runtime.DeleteAsync(name, force, cancellationToken).ConfigureAwait(false);
        }
        if (container.WasCreated)
        {
            await ContainerMeasurements.MeasureDeletedAsync(measurer, container, cancellationToken).ConfigureAwait(false);
        }
        var image = container.ReadRecord()?.ImageDigest;
        container.Discard();
        // A decrypted tree stays in memory only while a container uses it.
        if (Digest.TryParse(image, out var manifest, out _))
            Snapshots.ReleaseMemory(dataDir, manifest);
    }

    /// <summary>Removes what a launch left if it failed before <c>ContainerCreated</c> was measured (nothing of it is in the log).</summary>
    public static void DiscardUnstarted(ContainerDirectory container)
    {
        if (!Directory.Exists(container.Path) || container.WasCreated)
            return;
        using var noMonitor = FileLock.TryAcquire(container.MonitorLock);
        if (noMonitor is not null && !container.WasCreated)
            container.Discard();
    }

    private OciRuntime RuntimeOf(ContainerDirectory container) => runtimeFor(container.ReadRecord()?.Runtime);

    private async Task SignalAsync(ContainerDirectory container, string signal, CancellationToken cancellationToken)
    {
        try
        {
            await RuntimeOf(container).KillAsync(container.Name, signal, cancellationToken).ConfigureAwait(false);
        }
        catch (RuntimeException) when (container.ReadExit() is not null)
        {
            // It ended between our check and the signal.
        }
    }

    private static async Task<ContainerExit?> WaitForExitAsync(ContainerDirectory container, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (container.ReadExit() is { } exit)
            {
                return exit;
            }
            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ContainerSummary?> SummarizeAsync(ContainerDirectory container, CancellationToken cancellationToken)
    {
        if (container.ReadRecord() is not { } record)
        {
            return null;
        }
        if (container.ReadExit() is { } exit)
        {
            return new ContainerSummary(record, "exited", 0, exit);
        }
        var state = await runtimeFor(record.Runtime).StateAsync(container.Name, cancellationToken).ConfigureAwait(false);
        return state is null
            ? new ContainerSummary(record, "unknown", 0, null)
            : new ContainerSummary(record, state.Status, state.Pid, null);
    }
}
