using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
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

    /// <summary>The most connections one container may have open at once, over all of its sockets.</summary>
    public const int MaxConnectionsPerContainer = 16;

    /// <summary>The detail of the answer a connection over <see cref="MaxConnectionsPerContainer"/> gets before it is closed.</summary>
    public static string TooManyConnections(string container) =>
        $"container '{container}' has {MaxConnectionsPerContainer} workload gateway connections open, the most it may: this one is refused";

    /// <summary>Accepts on <paramref name="listening"/> (already listening) until <paramref name="stop"/>; every
    /// connection carries <paramref name="workload"/>, counts against <paramref name="open"/> (the container's, shared
    /// by its sockets), and is aborted when the loop stops.</summary>
    public Task AcceptAsync(Socket listening, WorkloadIdentity workload, ContainerConnections open, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(listening);
        ArgumentNullException.ThrowIfNull(open);
        return Task.Run(async () =>
        {
            using var abortAll = stop.Register(() => open.AbortAll($"container '{workload.Container}' stopped"));
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
                catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
                {
                    return; // this listener was closed (ContainerGateway.StopListeningInNetworkNamespace)
                }
                catch (SocketException e)
                {
                    // Anything else (EMFILE, a broken listener) would fail again at once: the container's gateway stops.
                    _logger.LogError("Workload gateway of container {Container}: accept failed, its gateway stops: {Message}", workload.Container, e.Message);
                    return;
                }
                var connection = _wrap.Create(accepted);
                connection.Features.Set<IWorkloadConnectionFeature>(new WorkloadConnectionFeature(workload));
                if (!open.TryAdd(connection))
                {
                    _logger.LogWarning("Workload gateway of container {Container}: {Refusal}", workload.Container, TooManyConnections(workload.Container));
                    _ = RefuseAsync(connection, TooManyConnections(workload.Container));
                    continue;
                }
                connection.ConnectionClosed.Register(() => open.Remove(connection));
                if (stop.IsCancellationRequested)
                    connection.Abort();
                await _accepted.Writer.WriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);
    }

    /// <summary>Answers 429 with a problem document before reading the request, then closes once the client has
    /// had it (its request is read and dropped meanwhile, so the close does not reset what was sent).</summary>
    private static async Task RefuseAsync(ConnectionContext connection, string detail)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new GatewayRefusal("workload request refused", 429, detail, GatewayProblemTypes.Refused),
            GatewayJsonContext.Default.GatewayRefusal);
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        try
        {
            await connection.Transport.Output.WriteAsync(head).ConfigureAwait(false);
            await connection.Transport.Output.WriteAsync(body).ConfigureAwait(false);
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            while (!drained.IsCancellationRequested)
            {
                var read = await connection.Transport.Input.ReadAsync(drained.Token).ConfigureAwait(false);
                connection.Transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException or SocketException)
        {
            // The client went away or sent on: either way it is closed now.
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
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

/// <summary>One container's open gateway connections, over all of its sockets, at most
/// <see cref="GatewayTransport.MaxConnectionsPerContainer"/>.</summary>
public sealed class ContainerConnections
{
    private readonly ConcurrentDictionary<string, ConnectionContext> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public bool TryAdd(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
            return _open.Count < GatewayTransport.MaxConnectionsPerContainer && _open.TryAdd(connection.ConnectionId, connection);
    }

    public void Remove(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
            _open.TryRemove(connection.ConnectionId, out _);
    }

    public void AbortAll(string reason)
    {
        foreach (var connection in _open.Values)
            connection.Abort(new ConnectionAbortedException(reason));
    }
}
