using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;

namespace TrustLaunch.Agent.Cri;

/// <summary>The gRPC service the intercepted methods are bound to; every other path goes to <see cref="CriPassThrough"/>.</summary>
public sealed class CriGrpcService;

/// <summary>
/// Binds only the intercepted CRI methods (from the generated service definitions) to their handlers, so that no
/// method of the vendored proto answers Unimplemented: what is not here is forwarded to containerd as it is.
/// </summary>
internal sealed class CriMethods(CriRuntimeHandlers runtime, CriImageHandlers images) : IServiceMethodProvider<CriGrpcService>
{
    public static readonly IReadOnlySet<string> Intercepted = new HashSet<string>(StringComparer.Ordinal)
    {
        "/runtime.v1.RuntimeService/Version",
        "/runtime.v1.RuntimeService/RunPodSandbox",
        "/runtime.v1.RuntimeService/StopPodSandbox",
        "/runtime.v1.RuntimeService/RemovePodSandbox",
        "/runtime.v1.RuntimeService/CreateContainer",
        "/runtime.v1.RuntimeService/StartContainer",
        "/runtime.v1.RuntimeService/StopContainer",
        "/runtime.v1.RuntimeService/RemoveContainer",
        "/runtime.v1.RuntimeService/ExecSync",
        "/runtime.v1.RuntimeService/Exec",
        "/runtime.v1.ImageService/PullImage",
    };

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<CriGrpcService> context)
    {
        var binder = new InterceptedBinder(context);
        RuntimeService.BindService(binder, runtime);
        ImageService.BindService(binder, images);
    }

    private sealed class InterceptedBinder(ServiceMethodProviderContext<CriGrpcService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            if (handler is not null && Intercepted.Contains(method.FullName))
                context.AddUnaryMethod(method, [], (_, request, call) => handler(request, call));
        }

        // No streaming method is intercepted (GetContainerEvents passes through).
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }
    }
}
