using Grpc.Core;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Cri.V1;

namespace TrustLaunch.Agent.Cri;

/// <summary>The RuntimeService methods the endpoint intercepts (<see cref="CriMethods.Intercepted"/>); the rest pass through untouched.</summary>
internal sealed class CriRuntimeHandlers(CriInterception cri) : RuntimeService.RuntimeServiceBase
{
    public override Task<VersionResponse> Version(VersionRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.VersionAsync(request, context));
    public override Task<RunPodSandboxResponse> RunPodSandbox(RunPodSandboxRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.RunPodSandboxAsync(request, context));
    public override Task<StopPodSandboxResponse> StopPodSandbox(StopPodSandboxRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.StopPodSandboxAsync(request, context));
    public override Task<RemovePodSandboxResponse> RemovePodSandbox(RemovePodSandboxRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.RemovePodSandboxAsync(request, context));
    public override Task<CreateContainerResponse> CreateContainer(CreateContainerRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.CreateContainerAsync(request, context));
    public override Task<StartContainerResponse> StartContainer(StartContainerRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.StartContainerAsync(request, context));
    public override Task<StopContainerResponse> StopContainer(StopContainerRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.StopContainerAsync(request, context));
    public override Task<RemoveContainerResponse> RemoveContainer(RemoveContainerRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.RemoveContainerAsync(request, context));
    public override Task<ExecSyncResponse> ExecSync(ExecSyncRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.ExecSyncAsync(request, context));
    public override Task<ExecResponse> Exec(ExecRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.ExecAsync(request, context));
}

/// <summary>The ImageService method the endpoint intercepts: PullImage.</summary>
internal sealed class CriImageHandlers(CriInterception cri) : ImageService.ImageServiceBase
{
    public override Task<PullImageResponse> PullImage(PullImageRequest request, ServerCallContext context) => CriErrors.Guard(() => cri.PullImageAsync(request, context));
}

/// <summary>
/// A fault of the agent itself (the log not ready, the TPM gone, a registry unreachable) reaches kubelet as a gRPC
/// status with its reason, never as a bare "exception was thrown by handler"; containerd's own errors are already
/// <see cref="RpcException"/>s and pass unchanged.
/// </summary>
internal static class CriErrors
{
    public static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException and not OperationCanceledException)
        {
            var code = e is IOException or HttpRequestException or LaunchLogNotReadyException ? StatusCode.Unavailable : StatusCode.Internal;
            throw new RpcException(new Status(code, $"TrustLaunch CRI endpoint: {e.Message}"), e.Message);
        }
    }
}
