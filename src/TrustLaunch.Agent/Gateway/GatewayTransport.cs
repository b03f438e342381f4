using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace TrustLaunch.Agent.Gateway;

/// <summary>The one Kestrel endpoint every container's gateway sockets feed (<see cref="GatewayTransport"/>).</summary>
public sealed class GatewayEndPoint : EndPoint
{
    public override string ToString() => "trustlaunch-workload-gateway";
}

/// <summary>
/// Kestrel's transport for the workload gateway: one listener whose connections come from per-container accept
/// loops (a unix socket bind-mounted into the container, and 127.0.0.1:8006 in its network namespace), each
/// connection wrapped by Kestrel's <see cref="SocketConnectionContextFactory"/> and tagged with the container it came
/// from (<see cref="IWorkloadConnectionFeature"/>). Closing a container's sockets aborts its open connections.
/// </summary>
public sealed class GatewayTransport : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable
{
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = false });
    private readonly SocketConnectionContextFactory _wrap;
    private readonly ILogger _logger;

    public GatewayTransport(ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        _logger = loggers.CreateLogger<GatewayTransport>();
        _wrap = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), _logger);
    }

    public bool CanBind(EndPoint endpoint) => endpoint is GatewayEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        endpoint is GatewayEndPoint
            ? ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, _accepted.Reader))
            : throw new NotSupportedException($"the workload gateway's transport binds {nameof(GatewayEndPoint)} only, not {endpoint}");

    /// <summary>Accepts on <paramref name="listening"/> (already listening) until <paramref name="stop"/>; every
    /// connection carries <paramref name="workload"/>, and is aborted when the loop stops.</summary>
    public Task AcceptAsync(Socket listening, WorkloadIdentity workload, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(listening);
        return Task.Run(async () =>
        {
            var open = new ConcurrentDictionary<string, ConnectionContext>(StringComparer.Ordinal);
            using var abortAll = stop.Register(() =>
            {
                foreach (var connection in open.Values)
                    connection.Abort(new ConnectionAbortedException($"container '{workload.Container}' stopped"));
            });
            while (!stop.IsCancellationRequested)
            {
                Socket accepted;
                try
                {
                    accepted = await listening.AcceptAsync(stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested)
                {
                    return;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
                {
                    continue; // the client gave up before it was accepted; the listener is sound
                }
                catch (SocketException e)
                {
                    // Anything else (EMFILE, a broken listener) would fail again at once: the container's gateway stops.
                    _logger.LogError("Workload gateway of container {Container}: accept failed, its gateway stops: {Message}", workload.Container, e.Message);
                    return;
                }
                var connection = _wrap.Create(accepted);
                connection.Features.Set<IWorkloadConnectionFeature>(new WorkloadConnectionFeature(workload));
                open[connection.ConnectionId] = connection;
                connection.ConnectionClosed.Register(() => open.TryRemove(connection.ConnectionId, out _));
                if (stop.IsCancellationRequested)
                    connection.Abort();
                await _accepted.Writer.WriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);
    }

    public ValueTask DisposeAsync()
    {
        _accepted.Writer.TryComplete();
        _wrap.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class Listener(EndPoint endpoint, ChannelReader<ConnectionContext> accepted) : IConnectionListener
    {
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
            try
            {
                return await accepted.ReadAsync(linked.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Cancel();
            _unbound.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
