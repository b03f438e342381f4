using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Oci.Store;

/// <summary>An image recorded in the content store, with its manifest and config read back from the store.</summary>
public sealed record LocalImage(ImageReference Reference, StoredImage Record, byte[] ManifestBytes, OciManifest Manifest, ImageConfig Config)
{
    public Digest ManifestDigest => Record.ManifestDigest;

    /// <summary>The descriptor of the image manifest (what a golden value artifact's subject names).</summary>
    public OciDescriptor ManifestDescriptor => new() { MediaType = Record.MediaType, Digest = Record.ManifestDigest, Size = ManifestBytes.Length };

    public long Size => Manifest.Config.Size + Manifest.Layers.Sum(l => l.Size);
}

/// <summary>An unpacked image: its tree's digests and what each layer applied and skipped.</summary>
public sealed record UnpackedImage(RootfsDigests Digests, ImageUnpackResult Unpack)
{
    public int XattrsSkipped => Unpack.Layers.Sum(l => l.XattrsSkipped);
    public int XattrsNotApplied => Unpack.Layers.Sum(l => l.XattrsNotApplied);
}

/// <summary>What <c>image unpack</c>, <c>golden publish</c> and the launcher share: find or pull an image, check its layer keys,
/// unpack it into a rootfs directory.</summary>
public static class LocalImages
{
    /// <summary>The image the store records for <paramref name="reference"/>, its manifest and config re-hashed as they are read.</summary>
    public static LocalImage? Find(ContentStore store, ImageReference reference)
    {
        var record = store.Find(reference.ToString());
        if (record is null || !store.Contains(record.ManifestDigest))
            return null;
        var bytes = store.ReadVerifiedBlob(record.ManifestDigest);
        var manifest = new ManifestResponse(record.ManifestDigest, record.MediaType, bytes).ParseManifest();
        if (!store.Contains(manifest.Config.Digest))
            return null;
        return new LocalImage(reference, record, bytes, manifest, ReadConfig(store, reference, manifest));
    }

    public static LocalImage Require(ContentStore store, ImageReference reference) =>
        Find(store, reference) ?? throw new IOException($"image {reference} is not in the content store {store.Root}; pull it first (trustlaunch image pull {reference})");

    /// <summary>
    /// Pulls <paramref name="reference"/> into the store. With <paramref name="keys"/>, first resolves the manifest and
    /// checks that every encrypted layer can be unwrapped, so a wrong key fails before any layer is downloaded.
    /// </summary>
    public static async Task<LocalImage> PullAsync(RegistryClient client, ContentStore store, ImageReference reference, Platform? platform,
        IReadOnlyList<DecryptionKey> keys, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        var resolved = await client.ResolveImageAsync(reference, platform, cancellationToken).ConfigureAwait(false);
        return await PullAsync(client, store, reference, resolved, keys, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Pulls the manifest <paramref name="resolved"/> names (by digest: what was judged is what is pulled, whatever
    /// the tag points to by now) and returns that image, not whatever the reference's record says after the pull.
    /// </summary>
    public static Task<LocalImage> PullAsync(RegistryClient client, ContentStore store, ImageReference reference, ResolvedImage resolved,
        IReadOnlyList<DecryptionKey> keys, IProgress<PullProgress>? progress, CancellationToken cancellationToken) =>
        PullAsync(client, store, reference, resolved, keys, null, progress, cancellationToken);

    /// <summary>As the pull above; with <paramref name="provider"/> (or keys), every encrypted layer must unwrap first.</summary>
    public static async Task<LocalImage> PullAsync(RegistryClient client, ContentStore store, ImageReference reference, ResolvedImage resolved,
        IReadOnlyList<DecryptionKey> keys, IKeyEncryptionKeySource? provider, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        if (keys.Count > 0 || provider is not null)
            await CheckDecryptableAsync(resolved.Parsed, keys, provider, cancellationToken).ConfigureAwait(false);
        var pulled = await new ImagePuller(client, store).PullAsync(reference, resolved, null, progress, cancellationToken).ConfigureAwait(false);
        return new LocalImage(reference, pulled.Record, resolved.Manifest.Bytes, pulled.Manifest, pulled.Config);
    }

    /// <summary>Refuses (<see cref="NotSupportedException"/>) a layer whose media type names no tar this unpacker reads, before it is downloaded.</summary>
    public static void CheckSupported(OciManifest manifest)
    {
        foreach (var layer in manifest.Layers)
            MediaTypes.CompressionOf(layer.MediaType);
    }

    private static ImageConfig ReadConfig(ContentStore store, ImageReference reference, OciManifest manifest) =>
        JsonSerializer.Deserialize(store.ReadVerifiedBlob(manifest.Config), OciJsonContext.Default.ImageConfig)
        ?? throw new InvalidDataException($"image {reference}: config {manifest.Config.Digest} is null");

    /// <summary>
    /// Throws the exact reason (a <see cref="CryptographicException"/>) when an encrypted layer cannot be unwrapped with
    /// <paramref name="keys"/> or, for layers carrying a <see cref="KeyProviderPacket"/>, with the key-encryption keys of
    /// <paramref name="provider"/> (which a layer for the key provider needs when it has no JWE recipient these keys open).
    /// </summary>
    public static async Task CheckDecryptableAsync(OciManifest manifest, IReadOnlyList<DecryptionKey> keys, IKeyEncryptionKeySource? provider,
        CancellationToken cancellationToken)
    {
        foreach (var layer in manifest.Layers.Where(l => MediaTypes.IsEncrypted(l.MediaType)))
        {
            var forProvider = layer.Annotations?.ContainsKey(KeyProviderPacket.Annotation) == true;
            if (keys.Count == 0 && !(forProvider && provider is not null))
            {
                throw new CryptographicException(forProvider
                    ? $"layer {layer.Digest} is encrypted for key provider {KeyProviderPacket.ProviderName}: its key comes through a key broker, and this launch has none (serve agent --kbs URL), nor a --decryption-key FILE"
                    : $"layer {layer.Digest} is encrypted: pass its key with --decryption-key FILE");
            }
            await Ocicrypt.DecryptedDescriptorAsync(layer, keys, provider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Unpacks the image's layers (decrypting encrypted ones) into <paramref name="rootfs"/>, which must not exist.
    /// LayerUnpacker builds the tree in a sibling scratch directory and renames it into place only after every layer's
    /// diff_id — and, for encrypted layers, the HMAC at the end of the ciphertext — checked out.
    /// </summary>
    public static Task<UnpackedImage> UnpackAsync(ContentStore store, LocalImage image, IReadOnlyList<DecryptionKey> keys, string rootfs,
        CancellationToken cancellationToken) =>
        UnpackAsync(store, image, keys, null, rootfs, cancellationToken);

    /// <summary>As the unpack above; layers carrying a <see cref="KeyProviderPacket"/> may open with <paramref name="provider"/>'s keys.
    /// The decrypted stream goes straight into the tree: it is never spooled to a file.</summary>
    public static async Task<UnpackedImage> UnpackAsync(ContentStore store, LocalImage image, IReadOnlyList<DecryptionKey> keys, IKeyEncryptionKeySource? provider,
        string rootfs, CancellationToken cancellationToken)
    {
        await CheckDecryptableAsync(image.Manifest, keys, provider, cancellationToken).ConfigureAwait(false);
        var layers = image.Manifest.Layers;
        var diffIds = image.Config.RootFs.DiffIds;
        if (layers.Count != diffIds.Count)
            throw new InvalidDataException($"image {image.Reference}: {layers.Count} layers but the config has {diffIds.Count} diff_ids");

        var decrypting = new List<DecryptingStream>();
        var sources = layers.Select((layer, i) => new LayerSource(layer.Digest, MediaTypes.CompressionOf(layer.MediaType), diffIds[i], async ct =>
        {
            // Hashed again as it is read: a blob changed in the store since the pull fails the unpack, and
            // LayerUnpacker reads each source to its end before the tree is renamed into place.
            Stream blob = store.OpenVerifiedBlob(layer);
            if (!MediaTypes.IsEncrypted(layer.MediaType))
                return blob;
            try
            {
                var plain = await Ocicrypt.DecryptAsync(layer, blob, keys, provider, cancellationToken: ct).ConfigureAwait(false);
                decrypting.Add(plain);
                return plain;
            }
            catch
            {
                blob.Dispose();
                throw;
            }
        }));
        var unpacked = await new LayerUnpacker().UnpackImageAsync(sources, rootfs, cancellationToken).ConfigureAwait(false);

        // The decompressors read each ciphertext to its end (where DecryptingStream checks the HMAC) before the rename;
        // should one ever stop short, the unverified tree must not stay.
        if (decrypting.FirstOrDefault(s => !s.IsVerified) is not null)
        {
            Directory.Delete(rootfs, recursive: true);
            throw new CryptographicException($"image {image.Reference}: an encrypted layer was not read to its end, so its HMAC was not checked; the unpacked tree was removed");
        }
        return new UnpackedImage(RootfsDigest.ComputeAll(rootfs, cancellationToken), unpacked);
    }

    /// <summary>Refuses an existing non-empty <paramref name="rootfs"/>; removes an empty one so the unpack can rename into place.</summary>
    public static void PrepareTarget(string rootfs)
    {
        if (File.Exists(rootfs) || (Directory.Exists(rootfs) && new FileInfo(rootfs).LinkTarget is not null))
            throw new IOException($"'{rootfs}' exists and is not a directory; refusing to unpack over it");
        if (!Directory.Exists(rootfs))
            return;
        if (Directory.EnumerateFileSystemEntries(rootfs).Any())
            throw new IOException($"'{rootfs}' exists and is not empty; refusing to unpack over it");
        Directory.Delete(rootfs);
    }

    /// <summary>Writes <c>config.json</c> next to the rootfs; an image with nothing to run is a refusal, not a bug.</summary>
    public static Digest WriteBundleConfig(string bundleDir, LocalImage image)
    {
        try
        {
            return RuntimeBundle.Write(bundleDir, image.Config);
        }
        catch (InvalidOperationException e)
        {
            throw new IOException($"image {image.Reference}: cannot write config.json: {e.Message}");
        }
    }
}
