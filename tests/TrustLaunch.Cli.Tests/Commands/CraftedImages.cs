using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>One layer of a hand-built image: its media type, the blob as pushed, the diff_id of its tar.</summary>
public sealed record CraftedLayer(string MediaType, byte[] Blob, Digest DiffId)
{
    public static CraftedLayer Gzip(byte[] tar)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
            gzip.Write(tar);
        return new CraftedLayer(MediaTypes.OciLayerGzip, buffer.ToArray(), Digest.Sha256(tar));
    }

    public static CraftedLayer Plain(byte[] tar) => new(MediaTypes.OciLayerTar, tar, Digest.Sha256(tar));
}

/// <summary>
/// Images an honest build tool would not make (a layer escaping the root, a decompression bomb, an unknown media type,
/// a tampered ciphertext), pushed with TrustLaunch's registry client, and golden values signed for them directly: the
/// publisher's key signs what it is given, so the launcher's own checks are what must refuse these.
/// </summary>
public static class CraftedImages
{
    /// <summary>A tar of regular files (mode 0644, root-owned), in order.</summary>
    public static byte[] Tar(params (string Name, byte[] Content)[] files) =>
        Tar(files.Select(f => (f.Name, f.Content, (IReadOnlyDictionary<string, string>)new Dictionary<string, string>())).ToArray());

    /// <summary>A tar of regular files (mode 0644, root-owned) with PAX records (e.g. <c>SCHILY.xattr.NAME</c>), in order.</summary>
    public static byte[] Tar(params (string Name, byte[] Content, IReadOnlyDictionary<string, string> Pax)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content, pax) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name, pax)
                {
                    DataStream = new MemoryStream(content),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                });
            }
        }
        return buffer.ToArray();
    }

    /// <summary>Pushes config, layers and manifest to REPOSITORY:TAG; returns the reference and manifest digest.</summary>
    public static async Task<(string Reference, Digest ManifestDigest)> PushAsync(RegistryFixture registry, string repository, string tag, params CraftedLayer[] layers)
    {
        var reference = ImageReference.Parse($"{registry.Host}/{repository}:{tag}");
        var config = JsonSerializer.SerializeToUtf8Bytes(new ImageConfig
        {
            Architecture = Platform.Default.Architecture,
            Os = "linux",
            Config = new ImageProcessConfig { Cmd = ["/bin/busybox", "true"] },
            RootFs = new ImageRootFs { DiffIds = layers.Select(l => l.DiffId).ToList() },
        }, OciJson.Readable.ImageConfig);
        using var client = new RegistryClient();
        await client.PushBlobAsync(reference, config);
        foreach (var layer in layers)
            await client.PushBlobAsync(reference, layer.Blob);
        var manifest = new OciManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Sha256(config), Size = config.Length },
            Layers = layers.Select(l => new OciDescriptor { MediaType = l.MediaType, Digest = Digest.Sha256(l.Blob), Size = l.Blob.Length }).ToList(),
        };
        return (reference.ToString(), await PushManifestAsync(reference.ToString(), manifest));
    }

    /// <summary>Pushes <paramref name="manifest"/> under <paramref name="reference"/>'s tag.</summary>
    public static async Task<Digest> PushManifestAsync(string reference, OciManifest manifest)
    {
        using var client = new RegistryClient();
        return await client.PushManifestAsync(ImageReference.Parse(reference), JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Readable.OciManifest),
            MediaTypes.OciManifest);
    }

    public static async Task<OciManifest> GetManifestAsync(string reference)
    {
        using var client = new RegistryClient();
        return (await client.ResolveImageAsync(ImageReference.Parse(reference))).Parsed;
    }

    /// <summary>
    /// Signs, with the PEM key <paramref name="privateKey"/>, a golden value for the image <paramref name="reference"/>
    /// names now (its signed <c>reference</c> is <paramref name="publishedFor"/>, default the image's own) and pushes it
    /// under the image's <c>sha256-HEX.golden</c> tag. Returns the JWS.
    /// </summary>
    public static async Task<string> PublishGoldenAsync(string reference, string privateKey, Digest rootfs, string? publishedFor = null, DateTimeOffset? created = null)
    {
        using var client = new RegistryClient();
        var image = await client.ResolveImageAsync(ImageReference.Parse(reference));
        var config = await GoldenFetch.FetchConfigAsync(client, image, CancellationToken.None);
        var issued = created ?? DateTimeOffset.UtcNow.AddMinutes(-1);
        using var signer = PemPayloadSigner.FromFile(privateKey);
        var jws = new GoldenValue
        {
            Reference = publishedFor ?? reference,
            ManifestDigest = image.Manifest.Digest,
            ConfigDigest = image.Parsed.Config.Digest,
            LayerDigests = image.Parsed.Layers.Select(l => l.Digest).ToList(),
            DiffIds = config.RootFs.DiffIds,
            RootfsDigest = rootfs,
            Created = issued,
            Expires = issued.AddDays(1),
        }.Sign(signer);
        await PushGoldenAsync(reference, image.Manifest, jws);
        return jws;
    }

    /// <summary>Pushes <paramref name="jws"/> as the golden value artifact of <paramref name="subject"/> in <paramref name="reference"/>'s repository.</summary>
    public static async Task PushGoldenAsync(string reference, ManifestResponse subject, string jws)
    {
        using var client = new RegistryClient();
        var tag = ImageReference.Parse(reference).WithTag(GoldenArtifact.TagFor(subject.Digest));
        var artifact = GoldenArtifact.Build(jws, new OciDescriptor { MediaType = subject.MediaType, Digest = subject.Digest, Size = subject.Bytes.Length });
        await client.PushBlobAsync(tag, artifact.Config);
        await client.PushBlobAsync(tag, artifact.Layer);
        await client.PushManifestAsync(tag, artifact.ManifestBytes, MediaTypes.OciManifest);
    }

    /// <summary>The JWS of the golden value published for <paramref name="reference"/>'s current manifest.</summary>
    public static async Task<string> FetchGoldenAsync(string reference)
    {
        using var client = new RegistryClient();
        var fetched = await GoldenFetch.FetchAsync(client, ImageReference.Parse(reference), null, CancellationToken.None);
        return fetched.Jws ?? throw new InvalidOperationException($"no golden value for {reference}");
    }

    /// <summary><c>sha256:</c> and the hex SHA-256 of a JWS: how <c>ImageVerified</c> and the trust policy name a golden value.</summary>
    public static Digest GoldenDigest(string jws) => Digest.Sha256(Encoding.ASCII.GetBytes(jws));

    /// <summary>Where docker-registry keeps a blob's bytes (to corrupt them as a compromised registry would).</summary>
    public static string RegistryBlobPath(RegistryFixture registry, Digest digest) =>
        Path.Combine(registry.StorageDirectory, "docker", "registry", "v2", "blobs", digest.Algorithm, digest.Hex[..2], digest.Hex, "data");
}
