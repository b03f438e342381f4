using System.Text.Json;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Launcher;

/// <summary>The end of a container's life in the log, measured alike by its monitor, by recovery and by <c>rm</c>.</summary>
public static class ContainerMeasurements
{
    /// <summary>Measures <c>ContainerStopped</c> from <paramref name="exit"/> (its code, or null and the reason it was lost) and marks it measured.</summary>
    public static async Task MeasureStoppedAsync(IMeasurer measurer, ContainerDirectory container, ContainerExit exit, CancellationToken cancellationToken)
    {
        var content = new ContainerStoppedEvent(container.Name, exit.ExitCode, exit.Reason);
        await measurer.MeasureAsync(LaunchEvents.ContainerStopped,
            JsonSerializer.SerializeToElement(content, LaunchEventsJsonContext.Default.ContainerStoppedEvent), cancellationToken: cancellationToken).ConfigureAwait(false);
        container.MarkStopMeasured();
    }

    public static Task MeasureDeletedAsync(IMeasurer measurer, ContainerDirectory container, CancellationToken cancellationToken) =>
        measurer.MeasureAsync(LaunchEvents.ContainerDeleted,
            JsonSerializer.SerializeToElement(new ContainerEvent(container.Name), LaunchEventsJsonContext.Default.ContainerEvent), cancellationToken: cancellationToken);
}
