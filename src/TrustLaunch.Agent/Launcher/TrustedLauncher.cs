using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Rootfs;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Prepares a measured launch: claim the name, pull (digests checked while streaming), judge the image (golden
/// value locally, or the verifier), unpack once into a snapshot whose tree digest must equal the golden value's at
/// every launch (so a snapshot modified after the pull is caught), measure <c>ImagePulled</c> and
/// <c>ImageVerified</c>, and build the bundle: an overlay over the snapshot and a <c>config.json</c>. Any refusal
/// is measured as <c>ImageRejected</c> and leaves nothing behind. The <see cref="ContainerMonitor"/> then creates
/// and starts the container. With <paramref name="seals"/> (a long-running launcher: the agent) a snapshot whose
/// metadata is unchanged since it last matched is not read again (<see cref="SnapshotSeals"/>). The snapshot of an
/// image with an encrypted layer, and its containers' upper layers, are on memory-backed storage (<see cref="Snapshots"/>).
/// </summary>
public sealed class TrustedLauncher(string dataDir, ContentStore store, IImageJudge judge, IMeasurer measurer, SnapshotSeals? seals = null)
{
    private readonly SnapshotSeals _seals = seals ?? new SnapshotSeals();

    /// <summary>Opens the launch's sealed secrets once its image is verified; without one a launch with secrets is refused.</summary>
    public SecretUnsealer? Unsealer { get; init; }

    public async Task<ContainerDirectory> PrepareAsync(RegistryClient client, LaunchRequest request, CancellationToken cancellationToken = default)
    {
        var container = ContainerDirectory.Create(dataDir, request.Name);
        var reference = request.Reference.ToString();
        Digest? manifestDigest = null;
        try
        {
            // Resolved once: from here on the image is named by its manifest digest, so a tag moved (or pulled again)
            // meanwhile cannot swap what is judged, unpacked and run.
            var resolved = await client.ResolveImageAsync(request.Reference, request.Platform, cancellationToken).ConfigureAwait(false);
            manifestDigest = resolved.Manifest.Digest;
            var measured = await PrePullMeasurement.MeasureAsync(client, store, request.Reference, resolved, cancellationToken).ConfigureAwait(false);
            // Held until the record names the snapshot: parallel launches unpack once and image gc keeps it.
            using var snapshotLock = await Snapshots.LockAsync(dataDir, resolved.Manifest.Digest, cancellationToken).ConfigureAwait(false);
            var memoryBacked = Snapshots.NeedsMemory(resolved.Parsed);
            var rootfs = Snapshots.Rootfs(dataDir, resolved.Manifest.Digest, memoryBacked);
            if (memoryBacked)
            {
                MemoryBackedStorage.Ensure(Snapshots.MemoryRoot(dataDir));
                if (Directory.Exists(rootfs))
                    MemoryBackedStorage.Require(rootfs);
            }
            // Judged before any layer is fetched: the pull then downloads only what the approved manifest names, with its sizes.
            var (approval, snapshotDigest) = await JudgeAsync(client, measured, rootfs, cancellationToken).ConfigureAwait(false);
            LocalImages.CheckSupported(resolved.Parsed);
            // At every launch, snapshot or not: a key broker's answer (the node is Attested now) is what lets an encrypted image run.
            await LocalImages.CheckDecryptableAsync(resolved.Parsed, request.DecryptionKeys, request.KeyEncryptionKeys, cancellationToken).ConfigureAwait(false);
            var image = await LocalImages.PullAsync(client, store, request.Reference, resolved, request.DecryptionKeys, request.KeyEncryptionKeys, null, cancellationToken)
                .ConfigureAwait(false);
            var snapshot = await SnapshotAsync(image, request, rootfs, approval, snapshotDigest, cancellationToken).ConfigureAwait(false);

            await MeasureAsync(LaunchEvents.ImagePulled, new ImagePulledEvent(reference, image.ManifestDigest.ToString()),
                LaunchEventsJsonContext.Default.ImagePulledEvent, cancellationToken).ConfigureAwait(false);
            await measurer.MeasureAsync(LaunchEvents.ImageVerified, JsonSerializer.SerializeToElement(
                approval.ToEvent(reference, image.ManifestDigest.ToString(), judge.Mode), LaunchEventsJsonContext.Default.ImageVerifiedEvent),
                approval.GoldenValue, cancellationToken).ConfigureAwait(false);

            // Released only to an image just verified.
            var secretBinds = await ContainerSecrets.MountAsync(container, request.Secrets, Unsealer, cancellationToken).ConfigureAwait(false);
            // Over a decrypted tree the upper layer is in memory too: a file the container changes is copied up whole.
            OverlayRootfs.Mount(snapshot, memoryBacked ? Snapshots.MemoryContainer(dataDir, request.Name) : container.Path, Path.Combine(container.Bundle, "rootfs"));
            var options = request.BundleOptions();
            var configDigest = RuntimeBundle.Write(container.Bundle, image.Config, options with { ReadOnlyBinds = [.. options.ReadOnlyBinds, .. secretBinds] });
            container.WriteRecord(new ContainerRecord(request.Name, reference, image.ManifestDigest.ToString(), request.Pod, request.Namespace,
                configDigest.ToString(), DateTimeOffset.UtcNow, request.Runtime, request.Network, request.Seccomp, ContainerSecrets.Records(request.Secrets)));
            return container;
        }
        catch (Exception e) when (ImageRefusal.ReasonOf(e) is { } reason)
        {
            Discard(container);
            await MeasureAsync(LaunchEvents.ImageRejected, new ImageRejectedEvent(reference, manifestDigest?.ToString() ?? "", reason),
                LaunchEventsJsonContext.Default.ImageRejectedEvent, cancellationToken).ConfigureAwait(false);
            throw e as ImageNotVerifiedException ?? new ImageNotVerifiedException(reason, e);
        }
        catch
        {
            Discard(container);
            throw;
        }
    }

    /// <summary>
    /// Judges the image while the snapshot an earlier launch left is digested (both only read, and the digest is
    /// compared only once the image is approved); the digest is null when there was no snapshot yet.
    /// </summary>
    private async Task<(ImageApproval Approval, SealedDigests? SnapshotDigest)> JudgeAsync(RegistryClient client, ImageMeasurement measured, string rootfs,
        CancellationToken cancellationToken)
    {
        using var digestCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var digest = Directory.Exists(rootfs) ? Task.Run(() => _seals.Digest(rootfs, digestCancellation.Token), digestCancellation.Token) : null;
        try
        {
            var approval = await judge.JudgeAsync(client, measured, cancellationToken).ConfigureAwait(false);
            return (approval, digest is null ? null : await digest.ConfigureAwait(false));
        }
        catch
        {
            await digestCancellation.CancelAsync().ConfigureAwait(false);
            if (digest is not null)
                await ((Task)digest).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
    }

    /// <summary>The image's unpacked tree, made once per manifest (under its lock) and checked against the approved digest every time
    /// (<paramref name="existingDigest"/>: the digest <see cref="JudgeAsync"/> took of a snapshot already there).</summary>
    private async Task<string> SnapshotAsync(LocalImage image, LaunchRequest request, string rootfs, ImageApproval approval, SealedDigests? existingDigest,
        CancellationToken cancellationToken)
    {
        SealedDigests? sealable;
        RootfsDigests actual;
        if (existingDigest is not null || Directory.Exists(rootfs))
        {
            sealable = existingDigest ?? _seals.Digest(rootfs, cancellationToken);
            actual = sealable.Digests;
        }
        else
        {
            PrivateDirectory.Ensure(Path.GetDirectoryName(rootfs)!);
            actual = (await LocalImages.UnpackAsync(store, image, request.DecryptionKeys, request.KeyEncryptionKeys, rootfs, cancellationToken).ConfigureAwait(false)).Digests;
            sealable = null;
        }
        // A tree just unpacked is sealed by the next launch's full digest, not here: nothing it did not read is sealed.
        if (actual.Matches(approval.RootfsDigest))
        {
            if (sealable is not null)
                _seals.Seal(rootfs, sealable);
        }
        else
        {
            _seals.Forget(rootfs);
            throw new ImageNotVerifiedException($"rootfs digest mismatch: golden value has {approval.RootfsDigest}, the snapshot {rootfs} has {actual.As(approval.RootfsDigest)} (modified after the pull?)");
        }
        return rootfs;
    }

    private Task MeasureAsync<T>(string operation, T content, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        measurer.MeasureAsync(operation, JsonSerializer.SerializeToElement(content, type), cancellationToken);

    private static void Discard(ContainerDirectory container) => container.Discard();
}
