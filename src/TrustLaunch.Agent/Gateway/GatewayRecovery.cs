using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// Gives each container an agent restart finds still running its workload gateway back: the directory its bundle binds
/// at <see cref="WorkloadGateway.ContainerDirectory"/> (<see cref="WorkloadGateway.Adopt"/>), 127.0.0.1:8006 in the
/// network namespace of its init unless it runs with the node's, answering as the container its <c>ContainerCreated</c>
/// measured. Only when its record, the digest of its bundle's <c>config.json</c> and the last <c>ContainerCreated</c> of
/// its name that no <c>ContainerDeleted</c> followed agree; otherwise it gets none, and the reason is logged. No monitor
/// watches such a container: its gateway goes when its init exits, and <c>exited</c> then records its end.
/// </summary>
public sealed class GatewayRecovery
{
    private readonly WorkloadGateway _gateway;
    private readonly Dictionary<string, ContainerCreatedEvent> _created;
    private readonly ILogger _logger;

    /// <param name="log">The agent's launch log, from its first record.</param>
    public GatewayRecovery(WorkloadGateway gateway, IEnumerable<CelRecord> log, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(log);
        _gateway = gateway;
        _logger = logger;
        _created = LiveCreations(log);
    }

    /// <summary>The last <c>ContainerCreated</c> of each container that no <c>ContainerDeleted</c> followed.</summary>
    private static Dictionary<string, ContainerCreatedEvent> LiveCreations(IEnumerable<CelRecord> log)
    {
        const string created = LaunchEvents.Domain + " " + LaunchEvents.ContainerCreated + " ";
        const string deleted = LaunchEvents.Domain + " " + LaunchEvents.ContainerDeleted + " ";
        var live = new Dictionary<string, ContainerCreatedEvent>(StringComparer.Ordinal);
        foreach (var record in log)
        {
            if (record.Content.StartsWith(created, StringComparison.Ordinal))
            {
                var e = EventLine.Parse(record.Content, EventLineCheck.Verbatim).Content.Deserialize(LaunchEventsJsonContext.Default.ContainerCreatedEvent)!;
                live[e.Container] = e;
            }
            else if (record.Content.StartsWith(deleted, StringComparison.Ordinal))
            {
                live.Remove(EventLine.Parse(record.Content, EventLineCheck.Verbatim).Content.Deserialize(LaunchEventsJsonContext.Default.ContainerEvent)!.Container);
            }
        }
        return live;
    }

    /// <summary>Adopts the gateways of the running containers of <paramref name="dataDir"/>; <paramref name="exited"/>
    /// runs once an adopted container's init has exited.</summary>
    public async Task AdoptAllAsync(string dataDir, Func<string?, OciRuntime> runtimeFor, Func<Task> exited, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runtimeFor);
        foreach (var container in ContainerDirectory.List(dataDir))
        {
            if (!container.WasCreated || container.StopMeasured || container.ReadExit() is not null)
                continue;
            try
            {
                var record = container.ReadRecord();
                var runtime = runtimeFor(record?.Runtime);
                if (await runtime.StateAsync(container.Name, cancellationToken).ConfigureAwait(false) is not { Status: "running", Pid: var pid })
                    continue;
                if (record is null)
                    throw new GatewayNotAdoptedException("it has no record");
                await AdoptAsync(container, record, runtime, pid, exited, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Container {Container} of {DataDir}: workload gateway adopted after the agent's restart", container.Name, dataDir);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("Container {Container} of {DataDir}: no workload gateway after the agent's restart: {Reason}", container.Name, dataDir, e.Message);
            }
        }
    }

    private async Task AdoptAsync(ContainerDirectory container, ContainerRecord record, OciRuntime runtime, int pid, Func<Task> exited, CancellationToken cancellationToken)
    {
        var directory = MeasuredGatewayDirectory(container, record);
        var init = PidFd(pid);
        ContainerGateway? gateway = null;
        try
        {
            // The descriptor is of the container's init only if the runtime still names that pid.
            if (await runtime.StateAsync(container.Name, cancellationToken).ConfigureAwait(false) is not { Status: "running" } state || state.Pid != pid)
                throw new GatewayNotAdoptedException("it stopped while its gateway was being adopted");
            gateway = _gateway.Adopt(record.Name, directory);
            gateway.Start(new WorkloadIdentity(record.Name, record.Image, record.ImageDigest));
            if (record.Network != ContainerIsolation.NetworkHost)
                gateway.ListenInNetworkNamespace(pid);
        }
        catch
        {
            Libc.Close(init);
            if (gateway is not null)
                await gateway.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _ = WatchAsync(init, gateway, exited);
    }

    /// <summary>The gateway directory the container's measured <c>config.json</c> binds, once record, bundle and log agree.</summary>
    private string MeasuredGatewayDirectory(ContainerDirectory container, ContainerRecord record)
    {
        // The runtime knows the container by its directory's name: the identity must be of that one.
        if (record.Name != container.Name)
            throw new GatewayNotAdoptedException($"its record names container '{record.Name}', not '{container.Name}'");
        var config = File.ReadAllBytes(Path.Combine(container.Bundle, "config.json"));
        var digest = Digest.Sha256(config).ToString();
        if (digest != record.ConfigDigest)
            throw new GatewayNotAdoptedException($"its bundle's config.json is {digest}, not the {record.ConfigDigest} it was created with: changed since");
        if (!_created.TryGetValue(record.Name, out var created))
            throw new GatewayNotAdoptedException("the launch log has no ContainerCreated of it that no ContainerDeleted followed");
        if (created.Config != record.ConfigDigest || created.Digest != record.ImageDigest || created.Image != record.Image || created.Network != record.Network)
            throw new GatewayNotAdoptedException($"its last ContainerCreated measured config {created.Config}, image {created.Image} ({created.Digest}), network {created.Network}; "
                + $"its record says config {record.ConfigDigest}, image {record.Image} ({record.ImageDigest}), network {record.Network}");
        using var spec = JsonDocument.Parse(config);
        if (spec.RootElement.TryGetProperty("mounts", out var mounts) && mounts.ValueKind == JsonValueKind.Array)
        {
            foreach (var mount in mounts.EnumerateArray())
            {
                if (mount.TryGetProperty("destination", out var destination) && destination.GetString() == WorkloadGateway.ContainerDirectory
                    && mount.TryGetProperty("type", out var type) && type.GetString() == "bind" && mount.TryGetProperty("source", out var source))
                    return source.GetString()!;
            }
        }
        throw new GatewayNotAdoptedException($"its config.json binds no workload gateway directory at {WorkloadGateway.ContainerDirectory}");
    }

    private static int PidFd(int pid)
    {
        var fd = Libc.PidfdOpen(Libc.SYS_pidfd_open, pid, 0);
        return fd >= 0 ? (int)fd : throw new IOException($"pidfd_open of its init {pid}: {Libc.ErrorText(Libc.LastError)}");
    }

    /// <summary>Closes the gateway once the init behind <paramref name="init"/> exits, then runs <paramref name="exited"/>;
    /// a watch that fails closes it too (nothing would tell its end otherwise).</summary>
    private async Task WatchAsync(int init, ContainerGateway gateway, Func<Task> exited)
    {
        bool ended;
        try
        {
            ended = await Task.Factory.StartNew(() => WaitForExit(init, gateway.Stopping), CancellationToken.None, TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _logger.LogWarning("Workload gateway of container {Container}: its end can no longer be watched, the gateway stops: {Message}", gateway.Container, e.Message);
            ended = true;
        }
        finally
        {
            Libc.Close(init);
        }
        if (!ended)
            return; // the agent stops: the next one adopts it again
        await gateway.DisposeAsync().ConfigureAwait(false);
        try
        {
            await exited().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning("Container {Container}: recording its end after its init exited failed: {Message}", gateway.Container, e.Message);
        }
    }

    /// <returns>True once the process exited; false when <paramref name="stop"/> came first.</returns>
    private static bool WaitForExit(int pidfd, CancellationToken stop)
    {
        var poll = new Libc.PollFd { Fd = pidfd, Events = Libc.POLLIN };
        while (!stop.IsCancellationRequested)
        {
            var ready = Libc.Poll(ref poll, 1, 1000);
            if (ready > 0)
                return true;
            if (ready < 0 && Libc.LastError != Libc.EINTR)
                throw new IOException($"poll: {Libc.ErrorText(Libc.LastError)}");
        }
        return false;
    }
}

/// <summary>Why a running container gets no workload gateway after the agent's restart.</summary>
public sealed class GatewayNotAdoptedException(string message) : Exception(message);
