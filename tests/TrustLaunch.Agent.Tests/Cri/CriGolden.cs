using TrustLaunch.Jose;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>Publishes a signed golden value next to an image, as <c>trustlaunch golden publish</c> does.</summary>
internal static class CriGolden
{
    public static async Task PublishAsync(string reference, IPayloadSigner signer, RegistryClientOptions? registry = null)
    {
        var r = ImageReference.Parse(reference);
        using var client = new RegistryClient(registry);
        var scratch = Directory.CreateTempSubdirectory("trustlaunch-cri-golden-").FullName;
        try
        {
            var store = new ContentStore(Path.Combine(scratch, "store"));
            var image = await LocalImages.PullAsync(client, store, r, (Platform?)null, [], null, CancellationToken.None);
            var unpacked = await LocalImages.UnpackAsync(store, image, [], Path.Combine(scratch, "rootfs"), CancellationToken.None);
            var created = DateTimeOffset.UtcNow;
            var value = new GoldenValue
            {
                Reference = r.ToString(),
                ManifestDigest = image.ManifestDigest,
                ConfigDigest = image.Manifest.Config.Digest,
                LayerDigests = image.Manifest.Layers.Select(l => l.Digest).ToList(),
                DiffIds = image.Config.RootFs.DiffIds,
                RootfsDigest = unpacked.Digests.Current,
                Created = created,
                Expires = created.AddDays(1),
            };
            var artifact = GoldenArtifact.Build(value.Sign(signer), image.ManifestDescriptor);
            var tag = r.WithTag(GoldenArtifact.TagFor(image.ManifestDigest));
            await client.PushBlobAsync(tag, artifact.Config);
            await client.PushBlobAsync(tag, artifact.Layer);
            await client.PushManifestAsync(tag, artifact.ManifestBytes, MediaTypes.OciManifest);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
