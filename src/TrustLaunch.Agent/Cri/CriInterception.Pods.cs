using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// Version: containerd's answer, which must carry all four fields (kubelet refuses an endpoint without them).
    /// </summary>
    public async Task<VersionResponse> VersionAsync(VersionRequest request, ServerCallContext context)
    {
        var version = await containerd.Runtime.VersionAsync(request, Forwarded(context)).ConfigureAwait(false);
        if (version.Version.Length == 0 || version.RuntimeName.Length == 0 || version.RuntimeVersion.Length == 0 || version.RuntimeApiVersion.Length == 0)
            throw new RpcException(new Status(StatusCode.Unavailable, $"containerd at {containerd.SocketPath} answered Version without all of version, runtime_name, runtime_version and runtime_api_version"));
        return version;
    }

    /// <summary>
    /// RunPodSandbox: forwarded only once the sandbox image is verified; <c>PodSandboxCreated</c> once containerd runs
    /// it; a sandbox whose event cannot be measured is removed again.
    /// </summary>
    public async Task<RunPodSandboxResponse> RunPodSandboxAsync(RunPodSandboxRequest request, ServerCallContext context)
    {
        await EnsureSandboxImageVerifiedAsync(context).ConfigureAwait(false);
        var response = await containerd.Runtime.RunPodSandboxAsync(request, Forwarded(context)).ConfigureAwait(false);
        var metadata = request.Config?.Metadata;
        try
        {
            await MeasureAsync(LaunchEvents.PodSandboxCreated, new PodSandboxCreatedEvent(response.PodSandboxId, metadata?.Name ?? "", metadata?.Namespace ?? "", metadata?.Uid ?? ""),
                LaunchEventsJsonContext.Default.PodSandboxCreatedEvent, context.CancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await UndoAsync($"RunPodSandbox {response.PodSandboxId}", async () =>
            {
                await containerd.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = response.PodSandboxId }).ResponseAsync.ConfigureAwait(false);
                await containerd.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = response.PodSandboxId }).ResponseAsync.ConfigureAwait(false);
            }).ConfigureAwait(false);
            throw;
        }
        return response;
    }

    /// <summary>StopPodSandbox: the exits of its containers (their gateways closed: containerd stopped them and the pod's
    /// network), then <c>PodSandboxStopped</c>; a sandbox containerd no longer knows is not measured.</summary>
    public async Task<StopPodSandboxResponse> StopPodSandboxAsync(StopPodSandboxRequest request, ServerCallContext context)
    {
        var known = await SandboxExistsAsync(request.PodSandboxId, context).ConfigureAwait(false);
        var response = await containerd.Runtime.StopPodSandboxAsync(request, Forwarded(context)).ConfigureAwait(false);
        foreach (var id in ContainersOf(request.PodSandboxId))
        {
            await MeasureExitAsync(id, context.CancellationToken).ConfigureAwait(false);
            if (_containers.TryGetValue(id, out var tracked))
                await ReleaseGatewayAsync(tracked.Pod, tracked.Gateway).ConfigureAwait(false);
        }
        if (known)
            await MeasurePodAsync(LaunchEvents.PodSandboxStopped, request.PodSandboxId, context.CancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>RemovePodSandbox: containerd removes its containers too, so their deletions are measured, then <c>PodSandboxRemoved</c>.</summary>
    public async Task<RemovePodSandboxResponse> RemovePodSandboxAsync(RemovePodSandboxRequest request, ServerCallContext context)
    {
        var known = await SandboxExistsAsync(request.PodSandboxId, context).ConfigureAwait(false);
        foreach (var id in ContainersOf(request.PodSandboxId))
            await MeasureExitAsync(id, context.CancellationToken).ConfigureAwait(false);
        var response = await containerd.Runtime.RemovePodSandboxAsync(request, Forwarded(context)).ConfigureAwait(false);
        foreach (var id in ContainersOf(request.PodSandboxId))
        {
            if (_containers.TryRemove(id, out var tracked))
            {
                await ReleaseGatewayAsync(tracked.Pod, tracked.Gateway).ConfigureAwait(false);
                await MeasureDeletedAsync(id, context.CancellationToken).ConfigureAwait(false);
            }
        }
        SealedSecrets.RemoveSandbox(request.PodSandboxId);
        if (known)
            await MeasurePodAsync(LaunchEvents.PodSandboxRemoved, request.PodSandboxId, context.CancellationToken).ConfigureAwait(false);
        return response;
    }

    private List<string> ContainersOf(string pod) => _containers.Where(c => c.Value.Pod == pod).Select(c => c.Key).ToList();

    private async Task<bool> SandboxExistsAsync(string pod, ServerCallContext context)
    {
        try
        {
            await containerd.Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = pod }, Forwarded(context)).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    private Task MeasurePodAsync(string operation, string pod, CancellationToken cancellationToken) =>
        MeasureAsync(operation, new PodSandboxEvent(pod), LaunchEventsJsonContext.Default.PodSandboxEvent, cancellationToken);
}
