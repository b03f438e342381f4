using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// The containers containerd's CRI plugin holds, as <c>trustlaunch ps</c> lists them: the CRI container id (what
    /// <c>ContainerCreated</c> measured), the image (its repository when containerd knows it only by id) and its digest, the pod sandbox id with the pod's name and namespace,
    /// the state, and for a container that ran, its pid (while running) or exit code and end time. containerd's errors
    /// propagate: a listing that cannot ask containerd fails instead of showing a node without its pods.
    /// </summary>
    public async Task<IReadOnlyList<NodeContainer>> ListContainersAsync(CancellationToken cancellationToken)
    {
        var pods = (await containerd.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest(), cancellationToken: cancellationToken).ConfigureAwait(false))
            .Items.ToDictionary(p => p.Id, p => p.Metadata, StringComparer.Ordinal);
        var containers = (await containerd.Runtime.ListContainersAsync(new ListContainersRequest(), cancellationToken: cancellationToken).ConfigureAwait(false)).Containers;
        var listed = new List<NodeContainer>(containers.Count);
        foreach (var container in containers)
        {
            var status = (await containerd.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container.Id },
                cancellationToken: cancellationToken).ConfigureAwait(false)).Status;
            var pod = pods.GetValueOrDefault(container.PodSandboxId);
            var exited = status.State == ContainerState.ContainerExited;
            // ContainerStatus names the image by repository digest (REPO@sha256:…); ps shows the digest, as for run.
            var at = status.ImageRef.LastIndexOf('@');
            var image = status.Image?.Image ?? container.Image?.Image ?? "";
            // An image pulled through the endpoint is stored by digest only, so containerd names it by its id: its repository says more.
            if (at > 0 && Digest.TryParse(image, out _, out _))
                image = status.ImageRef[..at];
            listed.Add(new NodeContainer(
                container.Id,
                image,
                at >= 0 ? status.ImageRef[(at + 1)..] : status.ImageRef,
                container.PodSandboxId,
                pod?.Namespace ?? "",
                "",
                FromNanoseconds(container.CreatedAt),
                StateName(status.State),
                0,
                exited ? status.ExitCode : null,
                exited && status.FinishedAt > 0 ? FromNanoseconds(status.FinishedAt) : null,
                null,
                null,
                exited && !string.IsNullOrEmpty(status.Reason) ? status.Reason : null,
                pod?.Name ?? "",
                NodeContainer.CriSource));
        }
        return listed;
    }

    private static DateTimeOffset FromNanoseconds(long nanoseconds) => DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100);

    private static string StateName(ContainerState state) => state switch
    {
        ContainerState.ContainerCreated => "created",
        ContainerState.ContainerRunning => "running",
        ContainerState.ContainerExited => "exited",
        _ => "unknown",
    };
}
