using System.Text.Json;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Supervises one container for its whole life, like conmon: as a child subreaper it creates the container (so the
/// container's init becomes its child), measures <c>ContainerCreated</c>, starts it, measures
/// <c>ContainerStarted</c>, reports readiness, then copies its output into the capped <see cref="StdioLog"/>, reaps
/// the init, records its exit status and measures <c>ContainerStopped</c>. Run in a process of its own
/// (<c>trustlaunch container-monitor</c>) for detached launches so the exit status survives the launcher; in the
/// launcher's process for <c>--attach</c>. A launch that fails before the start is undone: the container is killed
/// and deleted, its stop and deletion measured if its creation was, and its directory and mount removed. It holds the
/// container's <c>monitor.lock</c> throughout, so <c>rm</c> measures <c>ContainerDeleted</c> only after
/// <c>ContainerStopped</c>, and a monitor that died is told apart (<see cref="ContainerRecovery"/>).
/// </summary>
public sealed class ContainerMonitor(OciRuntime runtime, IMeasurer measurer)
{
    /// <summary>How long a failing <c>ContainerStopped</c> measurement is retried (the agent may be restarting).</summary>
    public TimeSpan StopMeasurementRetry { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Called with the init's pid once the container is created and before it starts (its namespaces exist,
    /// nothing of it runs yet): the workload gateway listens in its network namespace.</summary>
    public Action<int>? Created { get; init; }

    /// <summary>Creates and starts the container; <paramref name="started"/> is called once it runs, with its pid.</summary>
    /// <returns>The container's exit status (128 + signal when killed).</returns>
    public async Task<int> RunAsync(ContainerDirectory container, Action<int> started, CancellationToken cancellationToken = default)
    {
        var record = container.ReadRecord() ?? throw new InvalidOperationException($"container '{container.Name}' has no record");
        if (record is not { Network: { } network, Seccomp: { } seccomp })
            throw new LauncherException($"container '{container.Name}' has a record without its isolation (network, seccomp): not started");
        using var supervising = FileLock.TryAcquire(container.MonitorLock)
            ?? throw new LauncherException($"container '{container.Name}' already has a monitor");
        ChildReaper.BecomeSubreaper();
        int pid;
        Task<int> exited;
        using var output = StdioLog.Start(container);
        try
        {
            pid = await runtime.CreateAsync(container.Name, container.Bundle, container.StdioPipe, cancellationToken).ConfigureAwait(false);
            exited = ChildReaper.WaitAsync(pid);
        }
        catch
        {
            output.Dispose();
            container.Discard();
            throw;
        }
        try
        {
            await MeasureAsync(LaunchEvents.ContainerCreated, JsonSerializer.SerializeToElement(
                new ContainerCreatedEvent(record.Name, record.Pod, record.Namespace, record.Image, record.ImageDigest, record.ConfigDigest, network, seccomp),
                LaunchEventsJsonContext.Default.ContainerCreatedEvent), cancellationToken).ConfigureAwait(false);
            container.MarkCreated();
            Created?.Invoke(pid);
            await runtime.StartAsync(container.Name, cancellationToken).ConfigureAwait(false);
            await MeasureAsync(LaunchEvents.ContainerStarted, JsonSerializer.SerializeToElement(
                new ContainerEvent(record.Name), LaunchEventsJsonContext.Default.ContainerEvent), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await runtime.DeleteAsync(container.Name, force: true, CancellationToken.None).ConfigureAwait(false);
            var status = await exited.ConfigureAwait(false);
            output.Dispose();
            await UndoAsync(container, new ContainerExit(status, DateTimeOffset.UtcNow, $"the launch failed before the container started: {e.Message}")).ConfigureAwait(false);
            throw;
        }

        started(pid);
        var exitCode = await exited.ConfigureAwait(false);
        // The last of its output arrives when the pipe closes, normally with the init's exit.
        await output.Completion.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var exit = new ContainerExit(exitCode, DateTimeOffset.UtcNow);
        container.WriteExit(exit);
        await MeasureStoppedAsync(container, exit).ConfigureAwait(false);
        container.AppendMonitorLog($"container exited with {exitCode}");
        return exitCode;
    }

    /// <summary>
    /// A container that never ran leaves nothing behind; one whose creation was measured gets its stop and deletion
    /// measured first. If that fails its directory stays, and the next command's recovery measures what is missing.
    /// </summary>
    private async Task UndoAsync(ContainerDirectory container, ContainerExit exit)
    {
        try
        {
            if (container.WasCreated)
            {
                container.WriteExit(exit);
                await ContainerMeasurements.MeasureStoppedAsync(measurer, container, exit, CancellationToken.None).ConfigureAwait(false);
                await ContainerMeasurements.MeasureDeletedAsync(measurer, container, CancellationToken.None).ConfigureAwait(false);
            }
            container.Discard();
        }
        catch (Exception e)
        {
            container.AppendMonitorLog($"{exit.Reason}; undoing the launch failed: {e.Message}");
        }
    }

    private async Task MeasureStoppedAsync(ContainerDirectory container, ContainerExit exit)
    {
        var deadline = DateTimeOffset.UtcNow + StopMeasurementRetry;
        for (var delay = TimeSpan.FromMilliseconds(100); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks)))
        {
            try
            {
                await ContainerMeasurements.MeasureStoppedAsync(measurer, container, exit, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (DateTimeOffset.UtcNow + delay < deadline && e is not OperationCanceledException)
            {
                container.AppendMonitorLog($"measuring ContainerStopped failed, retrying in {delay.TotalSeconds:0.#} s: {e.Message}");
                await Task.Delay(delay).ConfigureAwait(false);
            }
        }
    }

    private async Task MeasureAsync(string operation, JsonElement content, CancellationToken cancellationToken) =>
        await measurer.MeasureAsync(operation, content, cancellationToken: cancellationToken).ConfigureAwait(false);
}
