using System.Text.Json;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// Takes up the containers an earlier run of the endpoint created in this boot, from the launch log's lines
    /// (<c>DOMAIN OPERATION CONTENT</c>): created through CRI (their <c>ContainerCreated</c> names a pod name, which
    /// <c>trustlaunch run</c>'s never does) and not deleted since, with whether their stop was measured. A restarted
    /// agent thus measures the stop and deletion of the pods' containers that outlived it.
    /// </summary>
    public void Resume(IEnumerable<string> measuredLines)
    {
        ArgumentNullException.ThrowIfNull(measuredLines);
        foreach (var line in measuredLines)
        {
            var parts = line.Split(' ', 3);
            if (parts.Length != 3 || parts[0] != LaunchEvents.Domain
                || parts[1] is not (LaunchEvents.ContainerCreated or LaunchEvents.ContainerStopped or LaunchEvents.ContainerDeleted))
                continue;
            using var content = JsonDocument.Parse(parts[2]);
            var root = content.RootElement;
            if (!root.TryGetProperty("container", out var container) || container.GetString() is not { } id)
                continue;
            switch (parts[1])
            {
                case LaunchEvents.ContainerCreated when root.TryGetProperty("pod_name", out _) && root.TryGetProperty("pod", out var pod):
                    _containers[id] = new TrackedContainer(pod.GetString() ?? "");
                    break;
                case LaunchEvents.ContainerStopped when _containers.TryGetValue(id, out var tracked):
                    tracked.ClaimStop();
                    break;
                case LaunchEvents.ContainerDeleted:
                    _containers.TryRemove(id, out _);
                    break;
            }
        }
    }
}
