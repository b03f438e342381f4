using System.Collections.Concurrent;
using System.Net;
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
    private readonly GatewayTransport _transport = new(loggers);
    private WebApplication? _app;

    /// <summary>The directory every container's gateway directory is made in (inside the agent's data directory).</summary>
    public string GatewaysDirectory => Path.GetFullPath(directory);

    /// <summary>Fed by the containers' accept loops; those adopted at recovery may start before Kestrel takes from it.</summary>
    internal GatewayTransport Transport => _transport;

    internal ILogger Logger => _logger;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // What an earlier agent left, but for the gateways of the containers adopted (GatewayRecovery), is of
        // containers that are gone.
        PrivateDirectory.Ensure(directory);
        var adopted = _open.Values.Select(g => g.Directory).ToHashSet(StringComparer.Ordinal);
        foreach (var left in Directory.GetDirectories(directory).Where(d => !adopted.Contains(d)))
            Directory.Delete(left, recursive: true);
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
        var gateway = new ContainerGateway(this, container, Path.Combine(directory, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))));
        Register(container, gateway);
        return Created(gateway);
    }

    /// <summary><see cref="Claim"/> for a container whose id is known only once it is created (CRI's, by containerd):
    /// <see cref="ContainerGateway.Start"/> registers it.</summary>
    public ContainerGateway ClaimUnnamed() =>
        Created(new ContainerGateway(this, null, Path.Combine(directory, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)))));

    private static ContainerGateway Created(ContainerGateway gateway)
    {
        var path = gateway.Directory;
        Directory.CreateDirectory(path);
        ContainerGateway.SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return gateway;
    }

    /// <summary>
    /// Takes up again the gateway directory <paramref name="path"/> of container <paramref name="container"/>, which
    /// outlived the agent that claimed it (its bundle binds it): the container sees the new socket where the old one was.
    /// </summary>
    /// <exception cref="IOException"><paramref name="path"/> is not a gateway directory of this agent.</exception>
    internal ContainerGateway Adopt(string container, string path)
    {
        if (!string.Equals(Path.GetDirectoryName(path), Path.GetFullPath(directory), StringComparison.Ordinal) || !Directory.Exists(path))
            throw new IOException($"its gateway directory {path} is not one of this agent's ({directory})");
        var gateway = new ContainerGateway(this, container, path);
        Register(container, gateway);
        File.Delete(gateway.SocketPath); // the dead agent's socket: nothing listens on it
        return gateway;
    }

    internal void Register(string container, ContainerGateway gateway)
    {
        if (!_open.TryAdd(container, gateway))
            throw new Launcher.LauncherException($"container name '{container}' already has a workload gateway (a container of that name runs from another data directory): choose another name");
    }

    internal void Release(ContainerGateway gateway)
    {
        if (gateway.Container is { } container)
            _open.TryRemove(new KeyValuePair<string, ContainerGateway>(container, gateway));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The containers outlive the agent: their directories stay for the next one (GatewayRecovery).
        foreach (var gateway in _open.Values)
            await gateway.CloseAsync(keepDirectory: true).ConfigureAwait(false);
        if (_app is not null)
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
    }
}
