using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// <c>golden publish ENCRYPTED --plain-image PLAIN</c>: the rootfs of an encrypted image measured on the image it was
/// encrypted from, so the publisher needs no layer key (nor the key broker's admin credentials for a provider-encrypted
/// one). Sound because encryption keeps the config: the same config digest means the same diff_ids, which every launch
/// checks each decrypted layer against, and the launch checks the unpacked tree against the carried rootfs digest too.
/// </summary>
internal static class PlainImageMeasurement
{
    /// <summary>Refuses (<see cref="CliFailureException"/>) unless <paramref name="encrypted"/> is <paramref name="plain"/> encrypted:
    /// the same config, and layer by layer the same layer or its <c>+encrypted</c> form.</summary>
    public static void CheckEncryptedFrom(LocalImage encrypted, LocalImage plain)
    {
        if (encrypted.Manifest.Config.Digest != plain.Manifest.Config.Digest)
        {
            throw new CliFailureException($"image {encrypted.Reference} has config {encrypted.Manifest.Config.Digest}, --plain-image {plain.Reference} has " +
                $"{plain.Manifest.Config.Digest}: it was not encrypted from that image");
        }
        var layers = encrypted.Manifest.Layers;
        if (layers.Count != plain.Manifest.Layers.Count)
            throw new CliFailureException($"image {encrypted.Reference} has {layers.Count} layers, --plain-image {plain.Reference} has {plain.Manifest.Layers.Count}");
        for (var i = 0; i < layers.Count; i++)
        {
            var source = plain.Manifest.Layers[i];
            if (MediaTypes.IsEncrypted(source.MediaType))
                throw new CliFailureException($"--plain-image {plain.Reference}: layer {source.Digest} is encrypted itself");
            var fits = MediaTypes.IsEncrypted(layers[i].MediaType)
                ? layers[i].MediaType == source.MediaType + MediaTypes.EncryptedSuffix
                : layers[i].Digest == source.Digest;
            if (!fits)
            {
                throw new CliFailureException($"image {encrypted.Reference}: layer {i} ({layers[i].Digest}, {layers[i].MediaType}) is not layer {i} of --plain-image " +
                    $"{plain.Reference} ({source.Digest}, {source.MediaType}) or its encrypted form");
            }
        }
    }

    /// <summary>The first layer only the key broker can open (wrapped for the key provider, no JWE recipient), or null.</summary>
    public static Digest? FirstProviderOnlyLayer(OciManifest manifest) =>
        manifest.Layers.FirstOrDefault(l => MediaTypes.IsEncrypted(l.MediaType) && l.Annotations is { } a
            && a.ContainsKey(KeyProviderPacket.Annotation) && !a.ContainsKey(Ocicrypt.KeysJweAnnotation))?.Digest;
}
