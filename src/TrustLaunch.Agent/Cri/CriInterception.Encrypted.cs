using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>Where containerd's overlayfs snapshotter keeps its snapshots, below its root directory.</summary>
    public const string OverlayfsSnapshotter = "io.containerd.snapshotter.v1.overlayfs";

    /// <summary>The broker the layer keys of encrypted images come through (<c>--kbs</c>); without one such images are refused.</summary>
    public NodeKeyBroker? KeyBroker { get; init; }

    /// <summary>
    /// An encrypted image is pulled only when containerd unpacks onto memory (its overlayfs snapshot directory on a
    /// tmpfs or ramfs: decrypted layers never reach the disk) and through this agent's broker. Checked before judging.
    /// </summary>
    /// <exception cref="ImageNotVerifiedException">Refused, with the reason.</exception>
    private async Task CheckEncryptedStorageAsync(ResolvedImage resolved, Grpc.Core.ServerCallContext context)
    {
        if (!resolved.Parsed.Layers.Any(l => MediaTypes.IsEncrypted(l.MediaType)))
            return;
        var status = await containerd.Runtime.StatusAsync(new StatusRequest { Verbose = true }, Forwarded(context)).ConfigureAwait(false);
        if (!status.Info.TryGetValue("config", out var text))
            throw new ImageNotVerifiedException("encrypted image: containerd's CRI status has no config to find its snapshots by");
        string? root, snapshotter;
        using (var config = JsonDocument.Parse(text))
        {
            root = config.RootElement.TryGetProperty("containerdRootDir", out var r) ? r.GetString() : null;
            snapshotter = config.RootElement.TryGetProperty("containerd", out var c) && c.TryGetProperty("snapshotter", out var s) ? s.GetString() : null;
        }
        if (snapshotter != "overlayfs")
            throw new ImageNotVerifiedException($"encrypted image: containerd's CRI snapshotter is '{snapshotter}', not overlayfs, whose snapshots this agent can check are memory-backed");
        if (string.IsNullOrEmpty(root) || !Path.IsPathFullyQualified(root))
            throw new ImageNotVerifiedException("encrypted image: containerd's CRI status names no root directory");
        if (SnapshotStorage.RefusalOf(Path.Combine(root, OverlayfsSnapshotter)) is { } refusal)
            throw new ImageNotVerifiedException($"encrypted image: {refusal}");
        if (KeyBroker is null)
            throw new ImageNotVerifiedException($"encrypted image: {NodeSecrets.NotConfiguredReason(hasBroker: false)}");
    }

    /// <summary>
    /// Opens every encrypted layer's key through the broker before containerd pulls (each key-encryption key once,
    /// measured <c>KeyReleased</c>), so a node that is not Attested, a forged packet or an unknown kid is refused here,
    /// measured, instead of failing inside containerd's unpack. containerd's stream processor (<c>trustlaunch
    /// stream-decrypt</c>) then unwraps each layer's key again through this agent's socket.
    /// </summary>
    private async Task OpenEncryptedLayersAsync(ResolvedImage resolved, CancellationToken cancellationToken)
    {
        var encrypted = resolved.Parsed.Layers.Where(l => MediaTypes.IsEncrypted(l.MediaType)).ToList();
        if (encrypted.Count == 0)
            return;
        using var keys = new BrokerKeyEncryptionKeys(KeyBroker!);
        foreach (var layer in encrypted)
        {
            if (layer.Annotations?.ContainsKey(KeyProviderPacket.Annotation) is not true)
                throw new CryptographicException($"layer {layer.Digest} has no {KeyProviderPacket.Annotation} packet: under CRI only the trustlaunch key provider opens layers");
            await Ocicrypt.DecryptedDescriptorAsync(layer, [], keys, cancellationToken).ConfigureAwait(false);
        }
    }
}
