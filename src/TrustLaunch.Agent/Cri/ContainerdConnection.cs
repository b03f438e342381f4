using Grpc.Core;
using Grpc.Net.Client;
using TrustLaunch.Agent.Cri.Containerd;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Clients;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// HTTP/2 (h2c) to containerd's unix socket, shared by the typed CRI clients the interception calls, containerd's
/// snapshot service, and the raw pass-through of every other method.
/// </summary>
public sealed class ContainerdConnection : IDisposable
{
    private readonly SocketsHttpHandler _handler;
    private readonly GrpcChannel _channel;

    public ContainerdConnection(string socketPath)
    {
        SocketPath = socketPath;
        _handler = new SocketsHttpHandler
        {
            ConnectCallback = UnixSocketHttp.Connect(socketPath),
            EnableMultipleHttp2Connections = true,
            // A restarted containerd is a new socket: never keep using a connection to the old one for long.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        Raw = new HttpMessageInvoker(_handler, disposeHandler: false);
        _channel = GrpcChannel.ForAddress(BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = _handler,
            DisposeHttpClient = false,
            MaxReceiveMessageSize = CriOptions.MaxMessageBytes,
            MaxSendMessageSize = CriOptions.MaxMessageBytes,
        });
        Runtime = new RuntimeService.RuntimeServiceClient(_channel);
        Images = new ImageService.ImageServiceClient(_channel);
        Snapshots = new Snapshots.SnapshotsClient(_channel);
    }

    /// <summary>The authority requests to containerd carry (the socket is the address).</summary>
    public static Uri BaseAddress { get; } = new("http://containerd");

    public string SocketPath { get; }
    public RuntimeService.RuntimeServiceClient Runtime { get; }
    public ImageService.ImageServiceClient Images { get; }
    internal Snapshots.SnapshotsClient Snapshots { get; }

    /// <summary>For the byte-for-byte pass-through (requests must be HTTP/2).</summary>
    public HttpMessageInvoker Raw { get; }

    /// <summary>Metadata that puts a call to one of containerd's own services into the CRI plugin's namespace.</summary>
    internal static Metadata InCriNamespace() => new() { { "containerd-namespace", CriOptions.ContainerdNamespace } };

    public void Dispose()
    {
        _channel.Dispose();
        Raw.Dispose();
        _handler.Dispose();
    }
}
