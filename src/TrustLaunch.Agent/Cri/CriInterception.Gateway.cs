using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// The workload gateway of a <c>--kbs</c> agent's CRI containers: each gets its own gateway directory bound read-only
/// at <see cref="WorkloadGateway.ContainerDirectory"/> (in the spec containerd generates, so in the measured digest),
/// answered as the container <c>ContainerCreated</c> names (containerd's id, the image digest as judged). A pod's
/// containers share one network namespace, so 127.0.0.1:8006 is served there only while the pod has exactly one live
/// container; its unix socket stays each container's own.
/// </summary>
public sealed partial class CriInterception
{
    /// <summary>The gateway of a <c>--kbs</c> agent; none: CRI containers get none.</summary>
    public WorkloadGateway? Gateway { get; init; }

    /// <summary>Which gateway listens on 127.0.0.1:8006 in each pod's network namespace, by pod; under <see cref="_portGate"/>.</summary>
    private readonly Dictionary<string, ContainerGateway> _portHolders = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _portGate = new(1, 1);

    /// <summary>
    /// Null when the request's own mounts leave the gateway alone; else why not: one onto
    /// <see cref="WorkloadGateway.ContainerDirectory"/> or under it (it would hide or replace the socket), or one whose
    /// host path, symbolic links resolved as containerd resolves them, is in the gateway directory or holds it (the
    /// container would reach other containers' sockets and be answered as them).
    /// </summary>
    private string? GatewayMountProblem(CreateContainerRequest request)
    {
        if (Gateway is null)
            return null;
        var gateways = RealPath(Gateway.GatewaysDirectory);
        foreach (var mount in request.Config.Mounts)
        {
            var target = Path.GetFullPath(Path.Combine("/", mount.ContainerPath)).TrimEnd('/');
            if (target == WorkloadGateway.ContainerDirectory || target.StartsWith(WorkloadGateway.ContainerDirectory + "/", StringComparison.Ordinal))
                return $"mount onto {mount.ContainerPath} refused: {WorkloadGateway.ContainerDirectory} is where the agent mounts the container's workload gateway";
            var source = RealPath(mount.HostPath);
            if (Within(source, gateways) || Within(gateways, source))
                return $"mount of host path {mount.HostPath} refused: it reaches the agent's workload gateway directory {gateways}, where other containers' gateways are";
        }
        return null;
    }

    private static bool Within(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="path"/> with its symbolic links resolved (the kernel's answer, through an O_PATH descriptor); a
    /// part that does not exist yet (containerd creates a missing host path) is appended as written.
    /// </summary>
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(Path.Combine("/", path)).TrimEnd('/');
        var missing = new Stack<string>();
        while (true)
        {
            var fd = Libc.Open(full.Length == 0 ? "/" : full, Libc.O_PATH | Libc.O_CLOEXEC);
            if (fd >= 0)
            {
                try
                {
                    var resolved = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? throw new IOException($"/proc/self/fd/{fd} names no path");
                    return missing.Aggregate(resolved, Path.Combine);
                }
                finally
                {
                    Libc.Close(fd);
                }
            }
            if (Libc.LastError != Libc.ENOENT || full.Length == 0)
                throw Refusal($"host path {path}: {Libc.ErrorText(Libc.LastError)}");
            missing.Push(Path.GetFileName(full));
            full = Path.GetDirectoryName(full) ?? "";
        }
    }

    /// <summary>A gateway claimed for the container <paramref name="forward"/> creates, bound read-only into it; null without a gateway.</summary>
    private ContainerGateway? ClaimGateway(CreateContainerRequest forward)
    {
        if (Gateway is not { } gateway)
            return null;
        var claimed = gateway.ClaimUnnamed();
        forward.Config.Mounts.Add(new Mount { ContainerPath = WorkloadGateway.ContainerDirectory, HostPath = claimed.Directory, Readonly = true });
        return claimed;
    }

    /// <summary>
    /// Starts <paramref name="gateway"/> for container <paramref name="id"/> as measured, and 127.0.0.1:8006 in the pod's
    /// network namespace (of the sandbox's <paramref name="sandboxPid"/>) unless the pod uses the node's network or has
    /// another live container.
    /// </summary>
    private async Task StartGatewayAsync(ContainerGateway gateway, string id, VerifiedImage image, string pod, bool hostNetwork, int? sandboxPid, ServerCallContext context)
    {
        try
        {
            gateway.Start(new WorkloadIdentity(id, image.Reference, image.Manifest.ToString()));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"the workload gateway of container {id} cannot listen: {e.Message}"));
        }
        if (hostNetwork)
            return;
        await _portGate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            // Whoever held the pod's port (an exited container, or one the pod now shares its namespace with) loses it.
            if (_portHolders.Remove(pod, out var holder))
                holder.StopListeningInNetworkNamespace();
            var containers = await containerd.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } },
                Forwarded(context)).ConfigureAwait(false);
            var others = containers.Containers.Where(c => c.Id != id && c.State != ContainerState.ContainerExited).Select(c => c.Id).ToList();
            if (others.Count > 0)
            {
                logger.LogInformation("Workload gateway of container {Container}: no {Address}: its pod {Pod} shares one network namespace with {Others}, "
                    + "whose connections there could not be told apart; its unix socket only", id, WorkloadGateway.ContainerAddress, pod, string.Join(", ", others));
                return;
            }
            if (sandboxPid is not { } pid)
            {
                logger.LogWarning("Workload gateway of container {Container}: no {Address}: containerd names no process of its pod {Pod}", id, WorkloadGateway.ContainerAddress, pod);
                return;
            }
            gateway.ListenInNetworkNamespace(pid);
            _portHolders[pod] = gateway;
        }
        finally
        {
            _portGate.Release();
        }
    }

    /// <summary>Closes <paramref name="gateway"/> of a container of <paramref name="pod"/> (its sockets and directory gone), if there is one.</summary>
    private async Task ReleaseGatewayAsync(string pod, ContainerGateway? gateway)
    {
        if (gateway is null)
            return;
        await _portGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_portHolders.TryGetValue(pod, out var holder) && holder == gateway)
                _portHolders.Remove(pod);
        }
        finally
        {
            _portGate.Release();
        }
        await gateway.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The pid of the sandbox's process in containerd's verbose PodSandboxStatus (it holds the pod's namespaces).</summary>
    private static int? SandboxPid(PodSandboxStatusResponse status)
    {
        if (!status.Info.TryGetValue("info", out var text))
            return null;
        using var document = JsonDocument.Parse(text);
        return document.RootElement.TryGetProperty("pid", out var pid) && pid.TryGetInt32(out var value) && value > 0 ? value : null;
    }
}
