using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace TrustLaunch.Agent.Gateway;

/// <summary>One container's gateway sockets (<see cref="WorkloadGateway.Claim"/>); disposing closes them, aborts their
/// connections and removes the socket.</summary>
public sealed class ContainerGateway : IAsyncDisposable
{
    private readonly WorkloadGateway _owner;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listening = [];
    private readonly List<Task> _loops = [];
    private readonly ContainerConnections _connections = new();
    private WorkloadIdentity? _workload;
    private int _disposed;

    internal ContainerGateway(WorkloadGateway owner, string? container, string directory)
    {
        _owner = owner;
        Container = container;
        Directory = directory;
        Stopping = _stop.Token;
    }

    /// <summary>The container it is for; null until <see cref="Start"/> for one claimed unnamed.</summary>
    public string? Container { get; private set; }

    /// <summary>Cancelled when the gateway is disposed.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>The host directory the container's bundle binds at <see cref="WorkloadGateway.ContainerDirectory"/>.</summary>
    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, WorkloadGateway.SocketName);

    /// <summary>Listens on the unix socket for <paramref name="workload"/> (mode 0666: the directory is reachable only
    /// from inside the container, where any of its users may call).</summary>
    public void Start(WorkloadIdentity workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (Container is null)
        {
            _owner.Register(workload.Container, this);
            Container = workload.Container;
        }
        else if (workload.Container != Container)
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

    /// <summary>Closes the 127.0.0.1:8006 listener, if any, keeping the unix socket: for a CRI container whose pod (one
    /// network namespace) gets a second container, which would otherwise be answered as this one there.</summary>
    public void StopListeningInNetworkNamespace()
    {
        lock (_listening)
        {
            foreach (var socket in _listening.Where(s => s.AddressFamily != AddressFamily.Unix).ToList())
            {
                socket.Dispose();
                _listening.Remove(socket);
            }
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
            _loops.Add(_owner.Transport.AcceptAsync(socket, _workload!, _connections, _stop.Token));
        }
    }

    internal static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the workload gateway needs unix sockets and network namespaces");
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>Closes the sockets and removes the directory: the container is gone.</summary>
    public ValueTask DisposeAsync() => CloseAsync(keepDirectory: false);

    /// <summary>Closes the sockets; with <paramref name="keepDirectory"/> (the agent stops, the container may run on)
    /// the directory stays for the next agent to adopt (<see cref="GatewayRecovery"/>) or delete.</summary>
    internal async ValueTask CloseAsync(bool keepDirectory)
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
            if (!keepDirectory && System.IO.Directory.Exists(Directory))
                System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException e)
        {
            _owner.Logger.LogWarning("Workload gateway of container {Container}: {Directory} not removed: {Message}", Container, Directory, e.Message);
        }
        _owner.Release(this);
    }
}
