using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// What the agent does on kubelet's path to containerd, apart from how the calls arrive: images judged against their
/// golden value before containerd pulls them and pulled by digest; containers created only from a verified image
/// whose snapshot still has the golden rootfs digest; every pod and container step measured into the launch log.
/// The gRPC CRI endpoint calls it; an NRI front end (containerd ≥ 1.7) can call the same methods from its hooks.
/// Refusals throw <see cref="RpcException"/> whose detail starts <c>NOT verified:</c>; containerd's errors pass
/// through with their status.
/// </summary>
public sealed partial class CriInterception(ContainerdConnection containerd, CriRegistries registries, IImageJudge judge, IMeasurer measurer, ILogger logger,
    TimeSpan verificationLifetime, TimeProvider? time = null)
{
    /// <summary>Images verified since the agent started, by containerd's image id (the config digest).</summary>
    private readonly ConcurrentDictionary<string, VerifiedImage> _verified = new(StringComparer.Ordinal);

    /// <summary>Containers this endpoint created, until their deletion is measured.</summary>
    private readonly ConcurrentDictionary<string, TrackedContainer> _containers = new(StringComparer.Ordinal);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The snapshots' digests, sealed by their layers' metadata once they matched a golden value.</summary>
    private readonly SnapshotSeals _seals = new();

    private sealed record VerifiedImage(string Reference, Digest Manifest, Digest Config, ImageApproval Approval, DateTimeOffset At);

    /// <summary>How CreateContainer opens sealed env values and mounted files; by default it refuses them.</summary>
    public CriSealedSecrets SealedSecrets { get; init; } = CriSealedSecrets.Refusing;

    /// <param name="pod">The pod sandbox's id.</param>
    /// <param name="secretsTmpfs">The tmpfs of its unsealed mounted files, removed with it.</param>
    /// <param name="gateway">Its workload gateway, closed when it is removed or its pod stopped.</param>
    private sealed class TrackedContainer(string pod, string? secretsTmpfs = null, Gateway.ContainerGateway? gateway = null)
    {
        private int _stopMeasured;

        public string Pod => pod;
        public string? SecretsTmpfs => secretsTmpfs;
        public Gateway.ContainerGateway? Gateway => gateway;
        public bool StopMeasured => Volatile.Read(ref _stopMeasured) != 0;

        /// <summary>True for the one caller that gets to measure the stop.</summary>
        public bool ClaimStop() => Interlocked.Exchange(ref _stopMeasured, 1) == 0;
    }

    /// <summary>The refusal kubelet shows in the pod's events (ErrImagePull / CreateContainerError).</summary>
    public static RpcException Refusal(string reason) => new(new Status(StatusCode.PermissionDenied, $"NOT verified: {reason}"));

    private static CallOptions Forwarded(ServerCallContext context) =>
        new(deadline: context.Deadline == DateTime.MaxValue ? null : context.Deadline, cancellationToken: context.CancellationToken);

    private Task MeasureAsync<T>(string operation, T content, JsonTypeInfo<T> type, CancellationToken cancellationToken, string? goldenValue = null) =>
        measurer.MeasureAsync(operation, JsonSerializer.SerializeToElement(content, type), goldenValue, cancellationToken);

    private Task MeasureRejectedAsync(string image, string digest, string reason, CancellationToken cancellationToken) =>
        MeasureAsync(LaunchEvents.ImageRejected, new ImageRejectedEvent(image, digest, reason), LaunchEventsJsonContext.Default.ImageRejectedEvent, cancellationToken);

    /// <summary>Undoes a step containerd did but that may not stand (a refusal or a failed measurement after it).</summary>
    /// <returns>Whether it was undone.</returns>
    private async Task<bool> UndoAsync(string what, Func<Task> undo)
    {
        try
        {
            await undo().ConfigureAwait(false);
            return true;
        }
        catch (RpcException e)
        {
            logger.LogError(e, "Could not undo {What} after a refusal: {Status}", what, e.Status);
            return false;
        }
    }
}
