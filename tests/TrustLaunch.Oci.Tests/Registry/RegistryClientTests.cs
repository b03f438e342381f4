using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>A no-auth registry holding an OCI busybox image, a Docker schema 2 copy and a two-platform index.</summary>
public sealed class ImagesRegistryFixture : RegistryFixture
{
    public PushedImage Oci { get; private set; } = null!;
    public PushedImage Docker { get; private set; } = null!;
    public PushedImage Arm64 { get; private set; } = null!;
    public string IndexDigest { get; private set; } = "";
    public string IndexReference => $"{Host}/test/multi:v1";
    public string DockerListReference => $"{Host}/test/busybox-docker:list";
    public byte[] Payload { get; } = Encoding.UTF8.GetBytes("hello from a test layer\n");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var layout = Path.Combine(Directory, "layout");
        await TestImages.BuildAsync(layout, "amd64", new Dictionary<string, byte[]> { ["/etc/hello.txt"] = Payload });
        await TestImages.BuildAsync(layout, "arm64", new Dictionary<string, byte[]> { ["/etc/hello.txt"] = Payload }, architecture: "arm64", variant: "v8");
        Oci = await TestImages.PushAsync(this, layout, "amd64", "test/busybox", "v1");
        Docker = await TestImages.PushAsync(this, layout, "amd64", "test/busybox-docker", "v1", dockerSchema2: true);
        var amd64 = await TestImages.PushAsync(this, layout, "amd64", "test/multi", "amd64");
        Arm64 = await TestImages.PushAsync(this, layout, "arm64", "test/multi", "arm64");
        IndexDigest = await TestImages.PushIndexAsync(this, "test/multi", "v1", [(amd64, "linux", "amd64", null), (Arm64, "linux", "arm64", "v8")]);
        await TestImages.PushIndexAsync(this, "test/busybox-docker", "list", [(Docker, "linux", "amd64", null)], dockerManifestList: true);
    }
}

public sealed class RegistryClientTests(ImagesRegistryFixture registry) : IClassFixture<ImagesRegistryFixture>, IDisposable
{
    private readonly RegistryClient _client = new();

    public void Dispose() => _client.Dispose();

    private ImageReference Ref(string repositoryAndTag) => ImageReference.Parse($"{registry.Host}/{repositoryAndTag}");

    [Fact]
    public async Task ResolveAsync_Tag_ReturnsPushedDigest() =>
        Assert.Equal(registry.Oci.ManifestDigest, (await _client.ResolveAsync(Ref("test/busybox:v1"))).ToString());

    [Fact]
    public async Task GetManifestAsync_Oci_VerifiedAndParsed()
    {
        var manifest = await _client.GetManifestAsync(Ref("test/busybox:v1"));
        Assert.Equal(MediaTypes.OciManifest, manifest.MediaType);
        Assert.Equal(registry.Oci.ManifestDigest, manifest.Digest.ToString());
        Assert.Equal(manifest.Digest, Digest.Sha256(manifest.Bytes));
        Assert.Equal(2, manifest.ParseManifest().Layers.Count);
    }

    [Fact]
    public async Task GetManifestAsync_DockerSchema2_MediaTypeKept()
    {
        var manifest = await _client.GetManifestAsync(Ref("test/busybox-docker:v1"));
        Assert.Equal(MediaTypes.DockerManifest, manifest.MediaType);
        Assert.All(manifest.ParseManifest().Layers, l => Assert.Equal(MediaTypes.DockerLayerGzip, l.MediaType));
    }

    [Fact]
    public async Task ResolveImageAsync_Index_PicksDefaultAndRequestedPlatform()
    {
        var reference = ImageReference.Parse(registry.IndexReference);
        var amd64 = await _client.ResolveImageAsync(reference);
        Assert.Equal(registry.IndexDigest, amd64.Index!.Digest.ToString());
        Assert.Equal(registry.Oci.ManifestDigest, amd64.Manifest.Digest.ToString());
        var arm64 = await _client.ResolveImageAsync(reference, Platform.Parse("linux/arm64"));
        Assert.Equal(registry.Arm64.ManifestDigest, arm64.Manifest.Digest.ToString());
        Assert.Equal(arm64.Manifest.Digest, arm64.Reference.Digest);
    }

    [Fact]
    public async Task ResolveImageAsync_DockerManifestList_PicksAmd64()
    {
        var resolved = await _client.ResolveImageAsync(ImageReference.Parse(registry.DockerListReference));
        Assert.Equal(MediaTypes.DockerManifestList, resolved.Index!.MediaType);
        Assert.Equal(registry.Docker.ManifestDigest, resolved.Manifest.Digest.ToString());
        Assert.Equal(MediaTypes.DockerManifest, resolved.Manifest.MediaType);
    }

    [Fact]
    public async Task ResolveImageAsync_MissingPlatform_ClearError()
    {
        var e = await Assert.ThrowsAsync<PlatformNotFoundException>(() => _client.ResolveImageAsync(ImageReference.Parse(registry.IndexReference), Platform.Parse("linux/s390x")));
        Assert.Equal($"image {registry.IndexReference} has no manifest for platform linux/s390x; available: linux/amd64, linux/arm64/v8", e.Message);
        var variant = await Assert.ThrowsAsync<PlatformNotFoundException>(() => _client.ResolveImageAsync(ImageReference.Parse(registry.IndexReference), Platform.Parse("linux/arm64/v7")));
        Assert.Contains("platform linux/arm64/v7", variant.Message);
    }

    [Fact]
    public async Task GetManifestAsync_UnknownTag_ShowsRegistryErrorCode()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _client.GetManifestAsync(Ref("test/busybox:nope")));
        Assert.Equal($"manifest {registry.Host}/test/busybox:nope: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown", e.Message);
        Assert.True(e.HasCode("MANIFEST_UNKNOWN"));
    }

    [Fact]
    public async Task GetManifestAsync_WrongDigest_Refused()
    {
        var wrong = Digest.Sha256("not the manifest"u8);
        var e = await Assert.ThrowsAsync<RegistryException>(() => _client.GetManifestAsync(Ref("test/busybox@" + wrong)));
        Assert.True(e.HasCode("MANIFEST_UNKNOWN"), e.Message);
    }

    [Fact]
    public async Task OpenBlobAsync_Layer_StreamsVerified()
    {
        var manifest = (await _client.GetManifestAsync(Ref("test/busybox:v1"))).ParseManifest();
        var layer = manifest.Layers[^1];
        await using var stream = await _client.OpenBlobAsync(Ref("test/busybox:v1"), layer.Digest, layer.Size);
        var bytes = new MemoryStream();
        await stream.CopyToAsync(bytes);
        Assert.True(stream.Verified);
        Assert.Equal(layer.Digest, Digest.Sha256(bytes.ToArray()));
    }

    [Fact]
    public async Task OpenBlobAsync_WrongSizeInDescriptor_SizeError()
    {
        var layer = (await _client.GetManifestAsync(Ref("test/busybox:v1"))).ParseManifest().Layers[^1];
        await using var stream = await _client.OpenBlobAsync(Ref("test/busybox:v1"), layer.Digest, layer.Size - 1);
        var e = await Assert.ThrowsAsync<OciSizeMismatchException>(() => stream.CopyToAsync(Stream.Null));
        Assert.Equal($"blob {registry.Host}/test/busybox@{layer.Digest}: size mismatch: more than the expected {layer.Size - 1} bytes", e.Message);
    }

    [Fact]
    public async Task OpenBlobAsync_UnknownBlob_BlobUnknown()
    {
        var digest = Digest.Sha256(RandomNumberGenerator.GetBytes(8));
        var e = await Assert.ThrowsAsync<RegistryException>(() => _client.OpenBlobAsync(Ref("test/busybox:v1"), digest, 8));
        Assert.Equal($"blob {registry.Host}/test/busybox@{digest}: 404 Not Found: BLOB_UNKNOWN: blob unknown to registry", e.Message);
    }

    [Fact]
    public async Task PushBlobAndManifest_RoundTrip()
    {
        var repo = Ref("test/pushed:golden");
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""");
        var layer = RandomNumberGenerator.GetBytes(100_000);
        await _client.PushBlobAsync(repo, config);
        await _client.PushBlobAsync(repo, layer);
        await _client.PushBlobAsync(repo, layer); // already there: skipped
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{Digest.Sha256(config)}}","size":{{config.Length}}},"layers":[{"mediaType":"{{MediaTypes.OciLayerTar}}","digest":"{{Digest.Sha256(layer)}}","size":{{layer.Length}}}]}
            """.Trim());
        var digest = await _client.PushManifestAsync(repo, manifest, MediaTypes.OciManifest);
        Assert.Equal(Digest.Sha256(manifest), digest);
        var fetched = await _client.GetManifestAsync(repo);
        Assert.Equal(manifest, fetched.Bytes);
        Assert.True(await _client.BlobExistsAsync(repo, Digest.Sha256(layer)));
    }

    [Fact]
    public async Task PushBlobAsync_ContentNotMatchingDigest_Refused()
    {
        var content = "abc"u8.ToArray();
        var claimed = Digest.Sha256("abd"u8);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => _client.PushBlobAsync(Ref("test/pushed:x"), claimed, 3, new MemoryStream(content)));
        Assert.Contains("digest mismatch", e.ToString());
        Assert.False(await _client.BlobExistsAsync(Ref("test/pushed:x"), claimed));
    }
}
