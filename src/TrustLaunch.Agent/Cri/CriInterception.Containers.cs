using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// CreateContainer: only from an image verified under the judge's policy; containerd creates it, then its snapshot
    /// must still have the golden rootfs digest, and <c>ContainerCreated</c> records the OCI spec containerd generated.
    /// Any refusal or failure after containerd created it removes it again: nothing unmeasured is left to start. With a
    /// <see cref="Gateway"/>, the container gets its workload gateway (<see cref="ClaimGateway"/>, <see cref="StartGatewayAsync"/>).
    /// </summary>
    public async Task<CreateContainerResponse> CreateContainerAsync(CreateContainerRequest request, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var spec = request.Config?.Image?.Image ?? "";
        if (spec.Length == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "CreateContainer names no image"));
        if (GatewayMountProblem(request) is { } problem)
            throw Refusal(problem);
        VerifiedImage image;
        try
        {
            var status = await containerd.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = spec } }, Forwarded(context)).ConfigureAwait(false);
            image = await VerifiedAsync(status.Image ?? throw new ImageNotVerifiedException($"image {spec} is not in containerd's store"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ImageRefusal.ReasonOf(e) is { } reason)
        {
            await MeasureRejectedAsync(spec, "", reason, cancellationToken).ConfigureAwait(false);
            throw Refusal(reason);
        }

        // Opened only for a verified image; a refusal here refuses CreateContainer before containerd sees it.
        var secrets = await SealedSecrets.PrepareAsync(request, cancellationToken).ConfigureAwait(false);
        CreateContainerResponse created;
        ContainerGateway? gateway = null;
        try
        {
            gateway = ClaimGateway(secrets.Request);
            created = await containerd.Runtime.CreateContainerAsync(secrets.Request, Forwarded(context)).ConfigureAwait(false);
        }
        catch
        {
            CriSealedSecrets.Remove(secrets.Tmpfs);
            if (gateway is not null)
                await gateway.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var id = created.ContainerId;
        var measured = false;
        try
        {
            var status = await containerd.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id, Verbose = true }, Forwarded(context)).ConfigureAwait(false);
            var info = ContainerInfo.Parse(id, status, secrets.SealedEnv);
            var (sealKey, digests) = await SnapshotDigest.ComputeAsync(containerd, _seals, info.Snapshotter, info.SnapshotKey, cancellationToken).ConfigureAwait(false);
            if (!digests.Digests.Matches(image.Approval.RootfsDigest))
            {
                _seals.Forget(sealKey);
                throw new ImageNotVerifiedException($"rootfs digest mismatch: golden value has {image.Approval.RootfsDigest}, containerd's snapshot {info.SnapshotKey} has {digests.Digests.As(image.Approval.RootfsDigest)} (modified after the pull?)");
            }
            _seals.Seal(sealKey, digests);
            // The pod as containerd keeps it, not the sandbox_config the request repeats "for reference".
            var sandboxStatus = await containerd.Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = request.PodSandboxId, Verbose = gateway is not null },
                Forwarded(context)).ConfigureAwait(false);
            var sandbox = sandboxStatus.Status;
            var pod = sandbox.Metadata;
            var hostNetwork = !info.OwnNetwork || sandbox.Linux?.Namespaces?.Options?.Network == NamespaceMode.Node;
            await MeasureAsync(LaunchEvents.ContainerCreated, new ContainerCreatedEvent(id, request.PodSandboxId, pod?.Namespace ?? "", image.Reference, image.Manifest.ToString(),
                info.SpecDigest, hostNetwork ? ContainerIsolation.NetworkHost : ContainerIsolation.NetworkPod, Seccomp(request, info), pod?.Name ?? "", pod?.Uid ?? ""),
                LaunchEventsJsonContext.Default.ContainerCreatedEvent, cancellationToken).ConfigureAwait(false);
            measured = true;
            if (gateway is not null)
                await StartGatewayAsync(gateway, id, image, request.PodSandboxId, hostNetwork, SandboxPid(sandboxStatus), context).ConfigureAwait(false);
            _containers[id] = new TrackedContainer(request.PodSandboxId, secrets.Tmpfs, gateway);
            return created;
        }
        catch (Exception e)
        {
            var removed = await UndoAsync($"CreateContainer {id}", () => containerd.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = id }).ResponseAsync).ConfigureAwait(false);
            CriSealedSecrets.Remove(secrets.Tmpfs);
            await ReleaseGatewayAsync(request.PodSandboxId, gateway).ConfigureAwait(false);
            // Measured created, so measured gone too (when it is).
            if (measured && removed)
                await MeasureDeletedAsync(id, cancellationToken).ConfigureAwait(false);
            if (ImageRefusal.ReasonOf(e) is not { } reason)
                throw;
            await MeasureRejectedAsync(image.Reference, image.Manifest.ToString(), reason, cancellationToken).ConfigureAwait(false);
            throw Refusal(reason);
        }
    }

    /// <summary>StartContainer: measured before containerd starts it, so nothing runs that the log does not show.</summary>
    public async Task<StartContainerResponse> StartContainerAsync(StartContainerRequest request, ServerCallContext context)
    {
        await MeasureAsync(LaunchEvents.ContainerStarted, new ContainerEvent(request.ContainerId), LaunchEventsJsonContext.Default.ContainerEvent, context.CancellationToken).ConfigureAwait(false);
        return await containerd.Runtime.StartContainerAsync(request, Forwarded(context)).ConfigureAwait(false);
    }

    /// <summary>StopContainer: forwarded with the caller's timeout, then its exit measured.</summary>
    public async Task<StopContainerResponse> StopContainerAsync(StopContainerRequest request, ServerCallContext context)
    {
        var response = await containerd.Runtime.StopContainerAsync(request, Forwarded(context)).ConfigureAwait(false);
        await MeasureExitAsync(request.ContainerId, context.CancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>RemoveContainer: its exit measured first if nothing did yet, then <c>ContainerDeleted</c> once containerd removed it (its gateway gone before).</summary>
    public async Task<RemoveContainerResponse> RemoveContainerAsync(RemoveContainerRequest request, ServerCallContext context)
    {
        await MeasureExitAsync(request.ContainerId, context.CancellationToken).ConfigureAwait(false);
        var response = await containerd.Runtime.RemoveContainerAsync(request, Forwarded(context)).ConfigureAwait(false);
        if (_containers.TryRemove(request.ContainerId, out var tracked))
        {
            CriSealedSecrets.Remove(tracked.SecretsTmpfs);
            await ReleaseGatewayAsync(tracked.Pod, tracked.Gateway).ConfigureAwait(false);
            await MeasureDeletedAsync(request.ContainerId, context.CancellationToken).ConfigureAwait(false);
        }
        return response;
    }

    /// <summary>ExecSync: the command measured before it runs; its exit code comes back in the response, as containerd gives it.</summary>
    public async Task<ExecSyncResponse> ExecSyncAsync(ExecSyncRequest request, ServerCallContext context)
    {
        await MeasureExecAsync(request.ContainerId, request.Cmd, context.CancellationToken).ConfigureAwait(false);
        return await containerd.Runtime.ExecSyncAsync(request, Forwarded(context)).ConfigureAwait(false);
    }

    /// <summary>Exec: the command measured before containerd hands out the streaming URL (returned unchanged).</summary>
    public async Task<ExecResponse> ExecAsync(ExecRequest request, ServerCallContext context)
    {
        await MeasureExecAsync(request.ContainerId, request.Cmd, context.CancellationToken).ConfigureAwait(false);
        return await containerd.Runtime.ExecAsync(request, Forwarded(context)).ConfigureAwait(false);
    }

    /// <summary>Measures <c>ContainerStopped</c> for every tracked container containerd reports exited (the exit poll).</summary>
    public async Task MeasureExitsAsync(CancellationToken cancellationToken)
    {
        if (_containers.IsEmpty)
            return;
        var exited = await containerd.Runtime.ListContainersAsync(new ListContainersRequest
        {
            Filter = new ContainerFilter { State = new ContainerStateValue { State = ContainerState.ContainerExited } },
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var container in exited.Containers)
        {
            if (_containers.TryGetValue(container.Id, out var tracked) && !tracked.StopMeasured)
                await MeasureExitAsync(container.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>ContainerStopped</c> with the exit code once the container has exited; once per container.</summary>
    private async Task MeasureExitAsync(string id, CancellationToken cancellationToken)
    {
        if (!_containers.TryGetValue(id, out var tracked) || tracked.StopMeasured)
            return;
        ContainerStatusResponse status;
        try
        {
            status = await containerd.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            if (tracked.ClaimStop())
                await MeasureStoppedAsync(new ContainerStoppedEvent(id, null, "removed from containerd before its exit was seen"), cancellationToken).ConfigureAwait(false);
            return;
        }
        if (status.Status?.State == ContainerState.ContainerExited && tracked.ClaimStop())
            await MeasureStoppedAsync(new ContainerStoppedEvent(id, status.Status.ExitCode), cancellationToken).ConfigureAwait(false);
    }

    private Task MeasureStoppedAsync(ContainerStoppedEvent content, CancellationToken cancellationToken) =>
        MeasureAsync(LaunchEvents.ContainerStopped, content, LaunchEventsJsonContext.Default.ContainerStoppedEvent, cancellationToken);

    private Task MeasureDeletedAsync(string id, CancellationToken cancellationToken) =>
        MeasureAsync(LaunchEvents.ContainerDeleted, new ContainerEvent(id), LaunchEventsJsonContext.Default.ContainerEvent, cancellationToken);

    private Task MeasureExecAsync(string id, IReadOnlyList<string> command, CancellationToken cancellationToken) =>
        MeasureAsync(LaunchEvents.ContainerExec, new ContainerExecEvent(id, command), LaunchEventsJsonContext.Default.ContainerExecEvent, cancellationToken);

    /// <summary>
    /// <c>default</c> only when containerd put a seccomp filter into the spec and the request asked for the runtime's
    /// default profile; a localhost profile or none is measured as <c>unconfined</c>, which a policy can refuse.
    /// </summary>
    private static string Seccomp(CreateContainerRequest request, ContainerInfo info)
    {
        var context = request.Config?.Linux?.SecurityContext;
        // Older kubelets still send only the deprecated path.
#pragma warning disable CS0612
        var runtimeDefault = context?.Seccomp is { } profile
            ? profile.ProfileType == SecurityProfile.Types.ProfileType.RuntimeDefault
            : context?.SeccompProfilePath is "runtime/default" or "docker/default";
#pragma warning restore CS0612
        return info.HasSeccomp && runtimeDefault ? ContainerIsolation.SeccompDefault : ContainerIsolation.SeccompUnconfined;
    }

    /// <summary>What containerd's verbose ContainerStatus says about a container it just created.</summary>
    /// <param name="OwnNetwork">The spec puts it in a network namespace: a new one, or its pod's (which may be the host's).</param>
    private sealed record ContainerInfo(string SnapshotKey, string Snapshotter, string SpecDigest, bool OwnNetwork, bool HasSeccomp)
    {
        /// <param name="sealedEnv">Env names whose value was unsealed, with their sealed forms: the spec's digest is taken with those put
        /// back, so the log's digest cannot be used to test guesses of a value.</param>
        public static ContainerInfo Parse(string id, ContainerStatusResponse status, IReadOnlyDictionary<string, string> sealedEnv)
        {
            if (!status.Info.TryGetValue("info", out var text))
                throw new InvalidDataException($"containerd's verbose status of container {id} has no info");
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (!root.TryGetProperty("runtimeSpec", out var spec) || spec.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"containerd's verbose status of container {id} has no runtimeSpec");
            var key = root.TryGetProperty("snapshotKey", out var k) ? k.GetString() : null;
            var snapshotter = root.TryGetProperty("snapshotter", out var s) ? s.GetString() : null;
            if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(snapshotter))
                throw new InvalidDataException($"containerd's verbose status of container {id} names no snapshot");
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.Serialize(WithSealedEnv(spec, sealedEnv))));
            var linux = spec.TryGetProperty("linux", out var l) ? l : default;
            var ownNetwork = linux.ValueKind == JsonValueKind.Object && linux.TryGetProperty("namespaces", out var namespaces)
                && namespaces.ValueKind == JsonValueKind.Array
                && namespaces.EnumerateArray().Any(n => n.TryGetProperty("type", out var type) && type.GetString() == "network");
            var seccomp = linux.ValueKind == JsonValueKind.Object && linux.TryGetProperty("seccomp", out var filter) && filter.ValueKind == JsonValueKind.Object;
            return new ContainerInfo(key, snapshotter, digest, ownNetwork, seccomp);
        }

        private static JsonElement WithSealedEnv(JsonElement spec, IReadOnlyDictionary<string, string> sealedEnv)
        {
            if (sealedEnv.Count == 0 || JsonNode.Parse(spec.GetRawText()) is not JsonObject root || root["process"]?["env"] is not JsonArray env)
                return spec;
            for (var i = 0; i < env.Count; i++)
            {
                if (env[i]?.GetValue<string>() is { } entry && entry.IndexOf('=', StringComparison.Ordinal) is var equals and > 0
                    && sealedEnv.TryGetValue(entry[..equals], out var sealedText))
                    env[i] = $"{entry[..equals]}={sealedText}";
            }
            using var document = JsonDocument.Parse(root.ToJsonString());
            return document.RootElement.Clone();
        }
    }
}
