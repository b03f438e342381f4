using System.Text;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// CRI PullImage with the registry settings of the node (<c>serve agent --cri-authfile / --cri-registries-conf</c>):
/// credentials from the node's auth file, read by the endpoint and handed to containerd's pull when kubelet sends
/// none; a registries.conf mirror serving tampered bytes given up for the next source; certs.d's client certificate for a
/// registry behind TLS client authentication. Real containerd and docker-registry.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriTrustRegistrySettingsTests(ContainerdFixture containerd) : IAsyncLifetime
{
    private readonly BasicAuthRegistryFixture _private = new();
    private readonly RegistryFixture _tampered = new();
    private readonly ClientCertificateRegistryFixture _secure = new();
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-cri-settings-").FullName;

    public Task InitializeAsync() => Task.WhenAll(_private.InitializeAsync(), _tampered.InitializeAsync(), _secure.InitializeAsync());

    public async Task DisposeAsync()
    {
        await _private.DisposeAsync();
        await _tampered.DisposeAsync();
        await _secure.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    private async Task<string> WriteAsync(string name, string text)
    {
        var path = Path.Combine(_work, name);
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary>The registry options <c>serve agent --cri-authfile FILE --cri-registries-conf CONF --cri-certs-dir DIR</c> gives the endpoint.</summary>
    private RegistryClientOptions Settings(string authFile, string registriesConf, string? certsDir = null) =>
        new TrustLaunch.Agent.Cri.CriSettings("unix:///unused.sock", "unix:///unused.sock", "/unused", null, null, []) { AuthFile = authFile, RegistriesConf = registriesConf, CertsDir = certsDir ?? _work }
            .RegistryOptions();

    private static string Auth() => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.Username}:{RegistryFixture.Password}"));

    [Theory]
    [InlineData("auth.json", "{0}")]
    [InlineData("config.json", "http://{0}/v1/")]
    public async Task PullImage_CredentialsOnlyInTheNodesAuthFile_ReadByTheEndpointAndGivenToContainerd(string file, string keyFormat)
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var repository = $"private/app-{Path.GetFileNameWithoutExtension(file)}";
        var pushed = await TestImages.BuildAndPushAsync(_private, repository, "1", new Dictionary<string, byte[]> { ["/" + CriPods.MarkerFile] = TestImages.RandomPayload(32) });
        var authFile = await WriteAsync(file, $$"""{"auths":{"{{string.Format(System.Globalization.CultureInfo.InvariantCulture, keyFormat, _private.Host)}}":{"auth":"{{Auth()}}"} } }""");
        var settings = Settings(authFile, await WriteAsync("empty.conf", ""));
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher, settings);
        await using var endpoint = await CriTrustEndpoint.StartAsync(node, new ImageJudgeOptions("cri-trust") { Trust = node.TrustFile }, settings);

        var pulled = await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = pushed.Reference } });

        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], node.Events().Select(e => e.Operation));
        var stored = (await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } })).Image;
        Assert.Contains($"{_private.Host}/{repository}@{pushed.ManifestDigest}", stored.RepoDigests);
    }

    [Fact]
    public async Task PullImage_MirrorServesATamperedConfig_RefusedAndTheNextSourceUsed()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var layout = Path.Combine(_work, "mirrored");
        await TestImages.BuildAsync(layout, "1", new Dictionary<string, byte[]> { ["/" + CriPods.MarkerFile] = TestImages.RandomPayload(32) });
        var pushed = await TestImages.PushAsync(containerd.Registry, layout, "1", "library/trust-mirrored");
        var copy = await TestImages.PushAsync(_tampered, layout, "1", "library/trust-mirrored");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        await CriTrustGolden.ReplaceAsync(copy.Reference, await CriTrustGolden.FetchAsync(pushed.Reference));
        string config;
        using (var client = new RegistryClient())
            config = (await client.GetManifestAsync(ImageReference.Parse(copy.Reference))).ParseManifest().Config.Digest.ToString();
        var data = _tampered.BlobDataPath(config);
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[bytes.Length / 2] ^= 0x20;
        await File.WriteAllBytesAsync(data, bytes);
        await using var mirror = new TcpPortForwarder(_tampered.Port);
        var conf = await WriteAsync("registries.conf", $"""
            [[registry]]
            prefix = "{containerd.Registry.Host}"
            location = "{containerd.Registry.Host}"

            [[registry.mirror]]
            location = "127.0.0.1:{mirror.Port}"
            """);
        var refused = new List<string>();
        var settings = Settings(await WriteAsync("no-auth.json", "{}"), conf) with { SourceRefused = refused.Add };
        await using var endpoint = await CriTrustEndpoint.StartAsync(node, new ImageJudgeOptions("cri-trust") { Trust = node.TrustFile }, settings);

        var pulled = await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = "docker.io/library/trust-mirrored:1" } });

        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], node.Events().Select(e => e.Operation));
        Assert.Contains(pushed.ManifestDigest, node.Events()[1].Content);
        var message = Assert.Single(refused);
        Assert.StartsWith($"mirror 127.0.0.1:{mirror.Port} refused for {containerd.Registry.Host}/library/trust-mirrored:1@{pushed.ManifestDigest}: blob 127.0.0.1:{mirror.Port}/library/trust-mirrored@{config}: digest mismatch: expected {config}, got sha256:", message);
        Assert.EndsWith($"; trying {containerd.Registry.Host}", message);
        Assert.NotNull((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } })).Image);
    }

    /// <remarks>
    /// The endpoint reads the image (manifest, config, golden value) from the registry that demands a client certificate
    /// (<c>--cri-registry-mirror docker.io=THAT</c>); containerd pulls the same bytes from its own plain mirror, since its
    /// config in <see cref="ContainerdFixture"/> holds no TLS client settings for another registry.
    /// </remarks>
    [Fact]
    public async Task PullImage_EndpointReadsWithTheCertsDirectoryClientCertificate_Pulled()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var layout = Path.Combine(_work, "secure");
        await TestImages.BuildAsync(layout, "1", new Dictionary<string, byte[]> { ["/" + CriPods.MarkerFile] = TestImages.RandomPayload(32) });
        var secure = await TestImages.PushAsync(_secure, layout, "1", "library/trust-secure");
        await TestImages.PushAsync(containerd.Registry, layout, "1", "library/trust-secure");
        var certs = Path.Combine(_work, "certs.d");
        var host = Directory.CreateDirectory(Path.Combine(certs, _secure.Host)).FullName;
        File.Copy(_secure.CaPemPath, Path.Combine(host, "ca.crt"));
        File.Copy(_secure.ClientCertPath, Path.Combine(host, "client.cert"));
        File.Copy(_secure.ClientKeyPath, Path.Combine(host, "client.key"));
        var settings = Settings(await WriteAsync("secure-auth.json", "{}"), await WriteAsync("secure.conf", ""), certs);
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(secure.Reference, publisher, settings);
        await using var endpoint = await CriTrustEndpoint.StartAsync(node, new ImageJudgeOptions("cri-trust") { Trust = node.TrustFile }, settings,
            new Dictionary<string, string> { ["docker.io"] = _secure.Host });

        var pulled = await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = "docker.io/library/trust-secure:1" } });

        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], node.Events().Select(e => e.Operation));
        Assert.Contains(secure.ManifestDigest, node.Events()[1].Content);
        Assert.NotNull((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } })).Image);
    }
}
