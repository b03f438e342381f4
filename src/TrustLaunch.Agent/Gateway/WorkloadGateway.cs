using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// The workload gateway of a <c>--kbs</c> agent (CoCo's api-server-rest, <see cref="GatewayApi"/>): one Kestrel,
/// HTTP/1.1, fed only by per-container sockets (<see cref="GatewayTransport"/>) — a unix socket bind-mounted
/// read-only at <c>/run/trustlaunch/gateway.sock</c> in each container <c>trustlaunch run</c> starts, and
/// 127.0.0.1:8006 in the container's own network namespace (not for <c>--net host</c> containers, whose namespace is
/// the node's). Nothing listens in the agent's network namespace; each answer is for the container the connection
/// came from, and its sockets are gone when it stops.
/// </summary>
public sealed class WorkloadGateway(WorkloadServices services, ILoggerFactory loggers, string directory) : IHostedService, IAsyncDisposable
{
    /// <summary>Where the container sees its gateway's socket directory (<see cref="SocketName"/> in it).</summary>
    public const string ContainerDirectory = "/run/trustlaunch";
    public const string SocketName = "gateway.sock";
    public static readonly IPEndPoint ContainerAddress = new(IPAddress.Loopback, 8006);

    private readonly ConcurrentDictionary<string, ContainerGateway> _open = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<WorkloadGateway>();
    private GatewayTransport? _transport;
    private WebApplication? _app;

    internal GatewayTransport Transport => _transport ?? throw new InvalidOperationException("the workload gateway is not started");

    internal ILogger Logger => _logger;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // What an earlier agent left is of containers whose gateways died with it.
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
        PrivateDirectory.Ensure(directory);
        _transport = new GatewayTransport(loggers);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(services);
        builder.Services.AddSingleton<IConnectionListenerFactory>(_transport);
        builder.Services.AddProblemDetails();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = GatewayApi.MaxRequestBytes;
            kestrel.Listen(new GatewayEndPoint(), listen => listen.Protocols = HttpProtocols.Http1);
        });
        _app = builder.Build();
        _app.MapGatewayApi();
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Claims a gateway for container <paramref name="container"/>: a fresh directory (mode 0755, inside the agent's
    /// private data directory) to bind into its bundle at <see cref="ContainerDirectory"/>. Nothing listens until
    /// <see cref="ContainerGateway.Start"/>.
    /// </summary>
    /// <exception cref="Launcher.LauncherException">A running container of that name has a gateway already (another
    /// data directory): the broker could not tell the two apart, so the second gets none and is not launched.</exception>
    public ContainerGateway Claim(string container)
    {
        var path = Path.Combine(directory, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var gateway = new ContainerGateway(this, container, path);
        if (!_open.TryAdd(container, gateway))
            throw new Launcher.LauncherException($"container name '{container}' already has a workload gateway (a container of that name runs from another data directory): choose another name");
        Directory.CreateDirectory(path);
        ContainerGateway.SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return gateway;
    }

    internal void Release(ContainerGateway gateway) => _open.TryRemove(new KeyValuePair<string, ContainerGateway>(gateway.Container, gateway));

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var gateway in _open.Values)
            await gateway.DisposeAsync().ConfigureAwait(false);
        if (_app is not null)
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync().ConfigureAwait(false);
        if (_transport is not null)
            await _transport.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One container's gateway sockets (<see cref="WorkloadGateway.Claim"/>); disposing closes them, aborts their
/// connections and removes the socket.</summary>
public sealed class ContainerGateway : IAsyncDisposable
{
    private readonly WorkloadGateway _owner;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listening = [];
    private readonly List<Task> _loops = [];
    private WorkloadIdentity? _workload;
    private int _disposed;

    internal ContainerGateway(WorkloadGateway owner, string container, string directory)
    {
        _owner = owner;
        Container = container;
        Directory = directory;
    }

    public string Container { get; }

    /// <summary>The host directory the container's bundle binds at <see cref="WorkloadGateway.ContainerDirectory"/>.</summary>
    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, WorkloadGateway.SocketName);

    /// <summary>Listens on the unix socket for <paramref name="workload"/> (mode 0666: the directory is reachable only
    /// from inside the container, where any of its users may call).</summary>
    public void Start(WorkloadIdentity workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (workload.Container != Container)
            throw new ArgumentException($"the gateway was claimed for '{Container}', not '{workload.Container}'", nameof(workload));
        _workload = workload;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
            SetMode(SocketPath, (UnixFileMode)0b110_110_110);
            socket.Listen(64);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Add(socket);
    }

    /// <summary>Listens on 127.0.0.1:8006 in the network namespace of the container's init <paramref name="pid"/>; a
    /// failure (the port taken, the node's namespace) leaves the unix socket as the only way in, and is logged.</summary>
    public void ListenInNetworkNamespace(int pid)
    {
        if (_workload is null)
            throw new InvalidOperationException("start the gateway's unix socket first");
        try
        {
            Add(NetworkNamespaceSocket.Listen(pid, WorkloadGateway.ContainerAddress));
        }
        catch (IOException e)
        {
            _owner.Logger.LogWarning("Workload gateway of container {Container}: no {Address} in its network namespace: {Message}", Container,
                WorkloadGateway.ContainerAddress, e.Message);
        }
    }

    private void Add(Socket socket)
    {
        lock (_listening)
        {
            if (_stop.IsCancellationRequested)
            {
                socket.Dispose();
                return;
            }
            _listening.Add(socket);
            _loops.Add(_owner.Transport.AcceptAsync(socket, _workload!, _stop.Token));
        }
    }

    internal static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the workload gateway needs unix sockets and network namespaces");
        File.SetUnixFileMode(path, mode);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Task[] loops;
        lock (_listening)
        {
            _stop.Cancel();
            foreach (var socket in _listening)
                socket.Dispose();
            loops = [.. _loops];
        }
        await Task.WhenAll(loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        try
        {
            if (System.IO.Directory.Exists(Directory))
                System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException e)
        {
            _owner.Logger.LogWarning("Workload gateway of container {Container}: {Directory} not removed: {Message}", Container, Directory, e.Message);
        }
        _owner.Release(this);
    }
}
