using System.Text.Json;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Supervises one container for its whole life, like conmon: as a child subreaper it creates the container (so the
/// container's init becomes its child), measures <c>ContainerCreated</c>, starts it, measures
/// <c>ContainerStarted</c>, reports readiness, then reaps the init, records its exit status and measures
/// <c>ContainerStopped</c>. Run in a process of its own (<c>trustlaunch container-monitor</c>) for detached launches
/// so the exit status survives the launcher; in the launcher's process for <c>--attach</c>.
/// A measurement that fails before the start kills and deletes the container: nothing runs unmeasured. It holds the
/// container's <c>monitor.lock</c> throughout, so <c>rm</c> measures <c>ContainerDeleted</c> only after <c>ContainerStopped</c>.
/// </summary>
public sealed class ContainerMonitor(OciRuntime runtime, IMeasurer measurer)
{
    /// <summary>How long a failing <c>ContainerStopped</c> measurement is retried (the agent may be restarting).</summary>
    public TimeSpan StopMeasurementRetry { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Creates and starts the container; <paramref name="started"/> is called once it runs, with its pid.</summary>
    /// <returns>The container's exit status (128 + signal when killed).</returns>
    public async Task<int> RunAsync(ContainerDirectory container, Action<int> started, CancellationToken cancellationToken = default)
    {
        var record = container.ReadRecord() ?? throw new InvalidOperationException($"container '{container.Name}' has no record");
        using var supervising = FileLock.TryAcquire(container.MonitorLock)
            ?? throw new LauncherException($"container '{container.Name}' already has a monitor");
        ChildReaper.BecomeSubreaper();
        var pid = await runtime.CreateAsync(container.Name, container.Bundle, container.StdioLog, cancellationToken).ConfigureAwait(false);
        var exited = ChildReaper.WaitAsync(pid);
        try
        {
            await MeasureAsync(LaunchEvents.ContainerCreated, JsonSerializer.SerializeToElement(
                // Until isolation lands (issue 15) every container shares the host's network and runs without seccomp: measured as such.
                new ContainerCreatedEvent(record.Name, record.Pod, record.Namespace, record.Image, record.ImageDigest, record.ConfigDigest,
                    ContainerIsolation.NetworkHost, ContainerIsolation.SeccompUnconfined),
                LaunchEventsJsonContext.Default.ContainerCreatedEvent), cancellationToken).ConfigureAwait(false);
            await runtime.StartAsync(container.Name, cancellationToken).ConfigureAwait(false);
            await MeasureAsync(LaunchEvents.ContainerStarted, JsonSerializer.SerializeToElement(
                new ContainerEvent(record.Name), LaunchEventsJsonContext.Default.ContainerEvent), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            container.AppendMonitorLog($"launch aborted: {e.Message}");
            await runtime.DeleteAsync(container.Name, force: true, CancellationToken.None).ConfigureAwait(false);
            container.WriteExit(new ContainerExit(await exited.ConfigureAwait(false), DateTimeOffset.UtcNow));
            throw;
        }

        started(pid);
        var exitCode = await exited.ConfigureAwait(false);
        container.WriteExit(new ContainerExit(exitCode, DateTimeOffset.UtcNow));
        await MeasureStoppedAsync(container, exitCode).ConfigureAwait(false);
        container.AppendMonitorLog($"container exited with {exitCode}");
        return exitCode;
    }

    private async Task MeasureStoppedAsync(ContainerDirectory container, int exitCode)
    {
        var content = JsonSerializer.SerializeToElement(new ContainerStoppedEvent(container.Name, exitCode), LaunchEventsJsonContext.Default.ContainerStoppedEvent);
        var deadline = DateTimeOffset.UtcNow + StopMeasurementRetry;
        for (var delay = TimeSpan.FromMilliseconds(100); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks)))
        {
            try
            {
                await MeasureAsync(LaunchEvents.ContainerStopped, content, CancellationToken.None).ConfigureAwait(false);
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
        await measurer.MeasureAsync(operation, content, cancellationToken).ConfigureAwait(false);
}
