using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>Two registries holding the same image; the first mirror's copy of one layer is then corrupted on disk.</summary>
public sealed class MirrorsFixture : IAsyncLifetime
{
    public RegistryFixture Tampered { get; } = new();
    public RegistryFixture Good { get; } = new();
    public PushedImage Image { get; private set; } = null!;
    public string TamperedLayer { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Tampered.InitializeAsync(), Good.InitializeAsync());
        var layout = Path.Combine(Good.Directory, "layout");
        await TestImages.BuildAsync(layout, "v1", new Dictionary<string, byte[]> { ["/payload"] = TestImages.RandomPayload(64 * 1024) });
        Image = await TestImages.PushAsync(Good, layout, "v1", "mirrored/app");
        await TestImages.PushAsync(Tampered, layout, "v1", "mirrored/app");
        using var client = new RegistryClient();
        var manifest = (await client.GetManifestAsync(ImageReference.Parse(Image.Reference))).ParseManifest();
        TamperedLayer = manifest.Layers[^1].Digest.ToString();
        var data = Tampered.BlobDataPath(TamperedLayer);
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(data, bytes);
    }

    public async Task DisposeAsync()
    {
        await Tampered.DisposeAsync();
        await Good.DisposeAsync();
    }
}

[Trait("Category", "Slow")]
public sealed class RegistriesConfTests(MirrorsFixture mirrors) : IClassFixture<MirrorsFixture>, IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("trustlaunch-mirror-store-").FullName;

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private RegistriesConf Conf() => RegistriesConf.Parse($"""
        unqualified-search-registries = ["docker.io"]

        [[registry]]
        prefix = "registry.example/team"
        location = "{mirrors.Good.Host}/mirrored"

        [[registry.mirror]]
        location = "{mirrors.Tampered.Host}/mirrored"

        [[registry]]
        prefix = "blocked.example"
        blocked = true
        """);

    [Fact]
    public async Task PullAsync_MirrorServesTamperedLayer_RefusedAndNextSourceUsed()
    {
        var refused = new List<string>();
        using var client = new RegistryClient(new RegistryClientOptions { Registries = Conf(), SourceRefused = refused.Add });
        var store = new ContentStore(_store);
        var reference = ImageReference.Parse("registry.example/team/app:v1");

        var pulled = await new ImagePuller(client, store).PullAsync(reference);

        Assert.Equal(mirrors.Image.ManifestDigest, pulled.ManifestDigest.ToString());
        Assert.True(store.Contains(TrustLaunch.Oci.Content.Digest.Parse(mirrors.TamperedLayer)));
        var message = Assert.Single(refused);
        Assert.StartsWith($"mirror {mirrors.Tampered.Host} refused for {reference}@{mirrors.Image.ManifestDigest}: blob {mirrors.Tampered.Host}/mirrored/app@{mirrors.TamperedLayer}: digest mismatch: expected {mirrors.TamperedLayer}, got sha256:", message);
        Assert.EndsWith($"; trying {mirrors.Good.Host}", message);
    }

    [Fact]
    public async Task GetManifestAsync_MirrorsTriedInOrder_FirstMirrorAnswers()
    {
        var refused = new List<string>();
        using var client = new RegistryClient(new RegistryClientOptions { Registries = Conf(), SourceRefused = refused.Add });
        var manifest = await client.GetManifestAsync(ImageReference.Parse("registry.example/team/app:v1"));
        Assert.Equal(mirrors.Image.ManifestDigest, manifest.Digest.ToString());
        Assert.Empty(refused);
        Assert.Equal(
            [$"{mirrors.Tampered.Host}/mirrored/app:v1", $"{mirrors.Good.Host}/mirrored/app:v1"],
            client.SourcesFor(ImageReference.Parse("registry.example/team/app:v1")).Select(s => s.Reference.ToString()));
    }

    [Fact]
    public async Task GetManifestAsync_MirrorWithoutTheTag_NextSourceUsed()
    {
        var refused = new List<string>();
        var conf = RegistriesConf.Parse($"""
            [[registry]]
            location = "{mirrors.Good.Host}"
            [[registry.mirror]]
            location = "{mirrors.Tampered.Host}/nothing-here"
            """);
        using var client = new RegistryClient(new RegistryClientOptions { Registries = conf, SourceRefused = refused.Add });
        var manifest = await client.GetManifestAsync(ImageReference.Parse(mirrors.Image.Reference));
        Assert.Equal(mirrors.Image.ManifestDigest, manifest.Digest.ToString());
        Assert.StartsWith($"mirror {mirrors.Tampered.Host} refused for {mirrors.Image.Reference}: manifest {mirrors.Tampered.Host}/nothing-here/mirrored/app:v1: 404 Not Found", Assert.Single(refused));
    }

    [Fact]
    public async Task GetManifestAsync_BlockedRegistry_RefusedNamingTheEntry()
    {
        using var client = new RegistryClient(new RegistryClientOptions { Registries = Conf() });
        var e = await Assert.ThrowsAsync<RegistryBlockedException>(() => client.GetManifestAsync(ImageReference.Parse("blocked.example/x/y:1")));
        Assert.Equal("registry blocked.example/x/y is blocked by registries.conf ([[registry]] prefix \"blocked.example\")", e.Message);
    }
}

public sealed class RegistriesConfParseTests
{
    [Fact]
    public void SourcesFor_LongestPrefixWins_AndDigestOnlyMirrorSkippedForTags()
    {
        var conf = RegistriesConf.Parse("""
            [[registry]]
            prefix = "example.com"
            location = "one.example"
            [[registry]]
            prefix = "example.com/team"
            location = "two.example/t"
            [[registry.mirror]]
            location = "mirror.example"
            pull-from-mirror = "digest-only"
            """);
        Assert.Equal(["two.example/t/app:1"], conf.SourcesFor(ImageReference.Parse("example.com/team/app:1")).Select(s => s.Reference.ToString()));
        var pinned = ImageReference.Parse("example.com/team/app@sha256:" + new string('a', 64));
        Assert.Equal(["mirror.example/app@sha256:" + new string('a', 64), "two.example/t/app@sha256:" + new string('a', 64)],
            conf.SourcesFor(pinned).Select(s => s.Reference.ToString()));
        Assert.Equal(["one.example/teamx/app:1"], conf.SourcesFor(ImageReference.Parse("example.com/teamx/app:1")).Select(s => s.Reference.ToString()));
    }

    [Fact]
    public void SourcesFor_WildcardPrefix_MatchesSubdomainsOnly()
    {
        var conf = RegistriesConf.Parse("""
            [[registry]]
            prefix = "*.example.com"
            blocked = true
            """);
        Assert.Throws<RegistryBlockedException>(() => conf.SourcesFor(ImageReference.Parse("a.example.com/x:1")));
        Assert.Single(conf.SourcesFor(ImageReference.Parse("example.com/x:1")));
    }

    [Fact]
    public void IsInsecureHost_InsecureMirror_PlainHttp()
    {
        var conf = RegistriesConf.Parse("""
            [[registry]]
            location = "secure.example"
            [[registry.mirror]]
            location = "plain.example:5000/m"
            insecure = true
            """);
        using var client = new RegistryClient(new RegistryClientOptions { Registries = conf });
        Assert.Equal("http://plain.example:5000/v2/", client.BaseUri(ImageReference.Parse("plain.example:5000/m/x:1")).ToString());
        Assert.Equal("https://secure.example/v2/", client.BaseUri(ImageReference.Parse("secure.example/x:1")).ToString());
    }

    [Theory]
    [InlineData("[[registry]]\nlocation = \"a.example\"\nmirrors = []\n", "registries.conf registries.conf: unknown key 'mirrors' in [[registry]]")]
    [InlineData("[registries.search]\nregistries = []\n", "registries.conf registries.conf is in the version 1 format ([registries.search] …), which is not supported: convert it to [[registry]] tables")]
    [InlineData("[[registry]]\nlocation = \"a.example\"\ninsecure = \"yes\"\n", "registries.conf registries.conf: 'insecure' is not a boolean")]
    [InlineData("[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\ninsecure = true\n", "registries.conf registries.conf: a [[registry.mirror]] has no location")]
    [InlineData("[[registry]]\nprefix = \"*.a.example\"\nlocation = \"b.example\"\n", "registries.conf registries.conf: wildcard prefix '*.a.example' cannot have a location")]
    public void Parse_Malformed_RefusedWithReason(string toml, string expected)
    {
        Assert.Equal(expected, Assert.Throws<FormatException>(() => RegistriesConf.Parse(toml)).Message);
    }
}
