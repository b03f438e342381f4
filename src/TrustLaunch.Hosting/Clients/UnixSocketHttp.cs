using System.Net.Sockets;

namespace TrustLaunch.Hosting.Clients;

/// <summary>HTTP over a unix socket: how the launcher talks to the local agent, and the agent to containerd.</summary>
public static class UnixSocketHttp
{
    /// <summary>An HttpClient speaking plain HTTP/1.1 to <paramref name="socketPath"/>.</summary>
    public static HttpClient Create(string socketPath) => new(new SocketsHttpHandler { ConnectCallback = Connect(socketPath) })
    {
        BaseAddress = new Uri("http://localhost"),
    };

    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/> that connects every request to <paramref name="socketPath"/>.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(string socketPath) =>
        async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
}
