using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// The demo's images, built here and pushed with TrustLaunch's own registry client: one gzip layer with the static
/// busybox (as <c>/bin/busybox</c> and <c>/bin/sh</c>) and a few files, an OCI config for linux and this host's architecture whose command is
/// <c>/bin/sh</c>.
/// </summary>
internal static class DemoImages
{
    public const string BusyboxPath = "/bin/busybox";

    /// <summary>Builds and pushes the image; returns its manifest digest.</summary>
    public static async Task<Digest> PushAsync(RegistryClient client, ImageReference reference, IReadOnlyDictionary<string, string> files,
        CancellationToken cancellationToken)
    {
        var tar = BuildLayerTar(files);
        var diffId = Digest.Sha256(tar);
        var layer = Gzip(tar);
        var config = JsonSerializer.SerializeToUtf8Bytes(new ImageConfig
        {
            Architecture = Platform.Default.Architecture,
            Os = "linux",
            Created = DateTimeOffset.UtcNow,
            Config = new ImageProcessConfig { Cmd = ["/bin/sh"], Env = ["PATH=/bin"], WorkingDir = "/" },
            RootFs = new ImageRootFs { DiffIds = [diffId] },
        }, OciJson.Readable.ImageConfig);
        var manifest = new OciManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Sha256(config), Size = config.Length },
            Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Sha256(layer), Size = layer.Length }],
        };
        await client.PushBlobAsync(reference, layer, cancellationToken).ConfigureAwait(false);
        await client.PushBlobAsync(reference, config, cancellationToken).ConfigureAwait(false);
        return await client.PushManifestAsync(reference, JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Readable.OciManifest),
            MediaTypes.OciManifest, cancellationToken).ConfigureAwait(false);
    }

    private static byte[] BuildLayerTar(IReadOnlyDictionary<string, string> files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            var mtime = DateTimeOffset.UnixEpoch;
            foreach (var directory in new[] { "bin/", "etc/", "tmp/" })
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, directory) { Mode = Executable, ModificationTime = mtime });
            using (var busybox = File.OpenRead(BusyboxPath))
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = Executable, ModificationTime = mtime, DataStream = busybox });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/sh") { LinkName = "busybox", Mode = Executable | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.UserWrite, ModificationTime = mtime });
            foreach (var (path, text) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                using var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path.TrimStart('/')) { Mode = Readable, ModificationTime = mtime, DataStream = content });
            }
        }
        return buffer.ToArray();
    }

    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Executable = Readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }
}
