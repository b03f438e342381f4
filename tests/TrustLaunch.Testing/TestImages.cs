using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace TrustLaunch.Testing;

/// <summary>An image pushed to a test registry: repository, tag and the digest skopeo reported.</summary>
public sealed record PushedImage(string Registry, string Repository, string Tag, string ManifestDigest)
{
    public string Reference => $"{Registry}/{Repository}:{Tag}";
}

/// <summary>
/// Builds small images with umoci in OCI layouts (busybox-static, extra files, random payloads; one layer per
/// file, written into an unpacked bundle and repacked) and pushes them with skopeo, as OCI or Docker schema 2; assembles multi-platform indexes.
/// Needs umoci, skopeo and busybox-static (Debian packages), no network.
/// </summary>
public static class TestImages
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A new OCI layout at <paramref name="layout"/> with image <paramref name="tag"/>: a layer with /bin/busybox
    /// (unless <paramref name="busybox"/> is false), a layer per entry of <paramref name="files"/>, and a config for
    /// linux/<paramref name="architecture"/> whose cmd is <c>/bin/busybox sh</c>.
    /// </summary>
    public static async Task BuildAsync(string layout, string tag, IReadOnlyDictionary<string, byte[]>? files = null,
        string architecture = "amd64", string? variant = null, bool busybox = true)
    {
        var image = $"{layout}:{tag}";
        if (!Directory.Exists(layout))
            await UmociAsync("init", "--layout", layout);
        await UmociAsync("new", "--image", image);
        var bundle = Directory.CreateTempSubdirectory("trustlaunch-image-bundle-").FullName;
        Directory.Delete(bundle);
        try
        {
            await UmociAsync([.. Rootless("unpack"), "--image", image, bundle]);
            if (busybox)
                await AddLayerAsync(image, bundle, "/bin/busybox", d => Task.Run(() => File.Copy("/bin/busybox", d))); // keeps its mode
            foreach (var (path, content) in files ?? new Dictionary<string, byte[]>())
                await AddLayerAsync(image, bundle, path, d => File.WriteAllBytesAsync(d, content));
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
        var config = new List<string> { "config", "--image", image, "--os", "linux", "--architecture", architecture, "--config.cmd", "/bin/busybox", "--config.cmd", "sh" };
        await UmociAsync([.. config]);
        if (variant is not null)
            await SetVariantAsync(layout, tag, variant);
    }

    /// <summary>Random bytes that gzip cannot shrink, for layers big enough to interrupt.</summary>
    public static byte[] RandomPayload(int size) => RandomNumberGenerator.GetBytes(size);

    /// <summary>Pushes <c>oci:LAYOUT:TAG</c> to the registry with skopeo (as Docker schema 2 when asked).</summary>
    public static async Task<PushedImage> PushAsync(RegistryFixture registry, string layout, string tag, string repository, string? destinationTag = null,
        bool dockerSchema2 = false)
    {
        destinationTag ??= tag;
        var digestFile = Path.Combine(Path.GetTempPath(), $"trustlaunch-digest-{Guid.NewGuid():N}");
        var arguments = new List<string> { "--insecure-policy", "copy", "--quiet", "--digestfile", digestFile };
        arguments.AddRange(registry.SkopeoDestinationArguments());
        if (dockerSchema2)
            arguments.AddRange(["--format", "v2s2"]);
        arguments.Add($"oci:{layout}:{tag}");
        arguments.Add($"docker://{registry.Host}/{repository}:{destinationTag}");
        (await ProcessRunner.RunAsync("skopeo", arguments, timeout: ToolTimeout)).EnsureSuccess("skopeo copy");
        var digest = (await File.ReadAllTextAsync(digestFile)).Trim();
        File.Delete(digestFile);
        return new PushedImage(registry.Host, repository, destinationTag, digest);
    }

    /// <summary>Builds and pushes a one-platform busybox image in one go.</summary>
    public static async Task<PushedImage> BuildAndPushAsync(RegistryFixture registry, string repository, string tag,
        IReadOnlyDictionary<string, byte[]>? files = null, bool dockerSchema2 = false)
    {
        var layout = Path.Combine(registry.Directory, "layouts", $"{repository.Replace('/', '_')}-{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(layout)!);
        await BuildAsync(layout, tag, files);
        return await PushAsync(registry, layout, tag, repository, tag, dockerSchema2);
    }

    /// <summary>
    /// Pushes an OCI image index (or a Docker manifest list) naming manifests already in the repository, with their
    /// platforms. Works against a registry without auth. Returns the index digest.
    /// </summary>
    public static async Task<string> PushIndexAsync(RegistryFixture registry, string repository, string tag,
        IEnumerable<(PushedImage Image, string Os, string Architecture, string? Variant)> entries, bool dockerManifestList = false)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{registry.Host}/v2/") };
        var manifests = new JsonArray();
        foreach (var (image, os, architecture, variant) in entries)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{repository}/manifests/{image.ManifestDigest}");
            request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
            request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var platform = new JsonObject { ["architecture"] = architecture, ["os"] = os };
            if (variant is not null)
                platform["variant"] = variant;
            manifests.Add(new JsonObject
            {
                ["mediaType"] = response.Content.Headers.ContentType!.MediaType,
                ["digest"] = image.ManifestDigest,
                ["size"] = bytes.Length,
                ["platform"] = platform,
            });
        }
        var mediaType = dockerManifestList
            ? "application/vnd.docker.distribution.manifest.list.v2+json"
            : "application/vnd.oci.image.index.v1+json";
        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType, ["manifests"] = manifests };
        var body = Encoding.UTF8.GetBytes(index.ToJsonString());
        using var put = new HttpRequestMessage(HttpMethod.Put, $"{repository}/manifests/{tag}") { Content = new ByteArrayContent(body) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var answer = await http.SendAsync(put);
        if (!answer.IsSuccessStatusCode)
            throw new InvalidOperationException($"index PUT failed: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
    }

    /// <summary>umoci config has no --variant: rewrite the config's platform variant by hand and repoint the tag.</summary>
    private static async Task SetVariantAsync(string layout, string tag, string variant)
    {
        var indexPath = Path.Combine(layout, "index.json");
        var index = JsonNode.Parse(await File.ReadAllTextAsync(indexPath))!;
        var entry = index["manifests"]!.AsArray().First(m => m!["annotations"]?["org.opencontainers.image.ref.name"]?.GetValue<string>() == tag)!;
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(BlobPath(layout, entry["digest"]!.GetValue<string>())))!;
        var config = JsonNode.Parse(await File.ReadAllBytesAsync(BlobPath(layout, manifest["config"]!["digest"]!.GetValue<string>())))!;
        config["variant"] = variant;
        var configBytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        manifest["config"]!["digest"] = await WriteBlobAsync(layout, configBytes);
        manifest["config"]!["size"] = configBytes.Length;
        var manifestBytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        entry["digest"] = await WriteBlobAsync(layout, manifestBytes);
        entry["size"] = manifestBytes.Length;
        await File.WriteAllTextAsync(indexPath, index.ToJsonString());
    }

    private static string BlobPath(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);

    private static async Task<string> WriteBlobAsync(string layout, byte[] content)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
        await File.WriteAllBytesAsync(BlobPath(layout, digest), content);
        return digest;
    }

    /// <summary>
    /// Writes one file into the unpacked bundle's rootfs and repacks it as a new layer. (umoci 0.4.7's
    /// <c>insert</c> can write truncated tar layers; unpack + repack goes through its well-trodden mtree diff.)
    /// </summary>
    private static async Task AddLayerAsync(string image, string bundle, string path, Func<string, Task> write)
    {
        var destination = Path.Combine(bundle, "rootfs", path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.Delete(destination);
        await write(destination);
        await UmociAsync("repack", "--refresh-bundle", "--image", image, bundle);
    }

    private static string[] Rootless(string command) => Environment.IsPrivilegedProcess ? [command] : [command, "--rootless"];

    private static async Task UmociAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("umoci", arguments, timeout: ToolTimeout)).EnsureSuccess("umoci " + arguments[0]);
}
