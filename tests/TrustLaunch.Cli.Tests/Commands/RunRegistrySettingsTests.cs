using TrustLaunch.Measurement;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run</c> with the registry settings users keep for podman: a registries.conf mirror serving tampered
/// bytes is given up for the next source, every byte still checked against the digests; certs.d's CA and client
/// certificate for a registry behind TLS client authentication. Real docker-registry, agent on swtpm, crun.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunRegistrySettingsTests(ImageRegistryFixture registry, ClientCertificateRegistryFixture tls, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<ClientCertificateRegistryFixture>, IClassFixture<LaunchAgentFixture>, IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly RegistryFixture _tampered = new();

    public Task InitializeAsync() => _tampered.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _tampered.DisposeAsync();
        _scratch.Dispose();
    }

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath, .. args]);

    /// <summary>Flips a byte in the middle of <paramref name="layer"/>'s blob as the tampering mirror stores it.</summary>
    private async Task TamperAsync(string layer)
    {
        var data = _tampered.BlobDataPath(layer);
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(data, bytes);
    }

    /// <summary>A registries.conf that reads the registry through <paramref name="mirror"/> first.</summary>
    private async Task<string> MirrorConfAsync(string name, string mirror)
    {
        var conf = _scratch[name];
        await File.WriteAllTextAsync(conf, $"""
            [[registry]]
            prefix = "{registry.Host}"
            location = "{registry.Host}"

            [[registry.mirror]]
            location = "{mirror}"
            """);
        return conf;
    }

    [Fact]
    public async Task Run_FirstMirrorServesATamperedLayer_RefusedAndTheNextSourceUsed()
    {
        var image = await registry.PushAsync(registry.LayoutA, "mirrored/app", "v1");
        var copy = await TestImages.PushAsync(_tampered, registry.LayoutA, "t", "mirrored/app", "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        string layer;
        using (var client = new RegistryClient())
        {
            var subject = await client.GetManifestAsync(ImageReference.Parse(copy.Reference));
            await CraftedImages.PushGoldenAsync(copy.Reference, subject, await CraftedImages.FetchGoldenAsync(image.Reference));
            layer = subject.ParseManifest().Layers[^1].Digest.ToString();
        }
        await TamperAsync(layer);
        await using var mirror = new TcpPortForwarder(_tampered.Port);
        var conf = await MirrorConfAsync("registries.conf", $"127.0.0.1:{mirror.Port}");
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;

        var run = await Tl("run", image.Reference, "--registries-conf", conf, "--trust", pub, "--name", "mirrored", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");

        Assert.Equal((0, "hello from image A\n"), (run.ExitCode, run.Stdout));
        Assert.True(mirror.Connections > 0, "the mirror was never asked");
        var verified = (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).Single(e => e.Operation == LaunchEvents.ImageVerified);
        Assert.Equal(image.ManifestDigest, verified.Content.GetProperty("digest").GetString());
        var givenUp = $"Registry source given up: mirror 127.0.0.1:{mirror.Port} refused for {registry.Host}/mirrored/app";
        await Eventually.WaitAsync(() => Task.FromResult(agent.Deployment.Agent!.ReadLog().Contains(givenUp, StringComparison.Ordinal) ? givenUp : null),
            () => $"the agent's log never said '{givenUp}'");
        (await Tl("rm", "mirrored")).EnsureSuccess();
    }

    [Fact]
    public async Task ImagePull_FirstMirrorServesATamperedLayer_WarnsAndPullsFromTheNextSource()
    {
        var image = await registry.PushAsync(registry.LayoutA, "mirrored/pull", "v1");
        var copy = await TestImages.PushAsync(_tampered, registry.LayoutA, "t", "mirrored/pull", "v1");
        string layer;
        using (var client = new RegistryClient())
            layer = (await client.GetManifestAsync(ImageReference.Parse(copy.Reference))).ParseManifest().Layers[^1].Digest.ToString();
        await TamperAsync(layer);
        var conf = await MirrorConfAsync("pull-registries.conf", _tampered.Host);

        var pull = await CliHarness.RunAsync("image", "pull", image.Reference, "--registries-conf", conf, "--data-dir", _scratch["pull"]);

        Assert.Equal(0, pull.ExitCode);
        Assert.StartsWith($"warning: mirror {_tampered.Host} refused for {registry.Host}/mirrored/pull:v1", pull.Stderr);
        Assert.Contains($"digest mismatch: expected {layer}, got sha256:", pull.Stderr);
        Assert.EndsWith($"; trying {registry.Host}\n", pull.Stderr);
    }

    [Fact]
    public async Task Run_MirrorAnswersTheTagWithAnotherImage_RefusedForWantOfItsGoldenValue()
    {
        var image = await registry.PushAsync(registry.LayoutA, "substituted/app", "v1");
        var other = await TestImages.PushAsync(_tampered, registry.LayoutB, "t", "substituted/app", "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "substituted-publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish-substituted"])).EnsureSuccess();
        var conf = await MirrorConfAsync("substituted.conf", _tampered.Host);
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;

        var run = await Tl("run", image.Reference, "--registries-conf", conf, "--trust", pub, "--name", "substituted");

        Assert.Equal((3, $"NOT verified: no golden value for {image.Reference} (tag sha256-{other.ManifestDigest["sha256:".Length..]}.golden not found)\n"), (run.ExitCode, run.Stderr));
        var rejected = EventLine.Parse(Assert.Single(await agent.Deployment.ReadLogAsync(since)).Content);
        Assert.Equal((LaunchEvents.ImageRejected, other.ManifestDigest), (rejected.Operation, rejected.Content.GetProperty("digest").GetString()));
    }

    [Fact]
    public async Task Run_CertsDirectoryClientCertificate_PulledFromTheRegistryBehindTlsClientAuth()
    {
        var image = await TestImages.BuildAndPushAsync(tls, "secure/app", "v1");
        var certs = _scratch["certs.d"];
        var host = Directory.CreateDirectory(Path.Combine(certs, tls.Host)).FullName;
        File.Copy(tls.CaPemPath, Path.Combine(host, "ca.crt"));
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "secure-publisher");
        var caOnly = await Tl("run", image.Reference, "--certs-dir", certs, "--trust", pub, "--name", "no-client-certificate");
        File.Copy(tls.ClientCertPath, Path.Combine(host, "client.cert"));
        File.Copy(tls.ClientKeyPath, Path.Combine(host, "client.key"));
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--certs-dir", certs, "--data-dir", _scratch["publish-secure"])).EnsureSuccess();

        var run = await Tl("run", image.Reference, "--certs-dir", certs, "--trust", pub, "--name", "secure", "--attach", "--", "/bin/busybox", "true");

        Assert.Equal(1, caOnly.ExitCode);
        Assert.StartsWith($"error: GET https://{tls.Host}/v2/secure/app/manifests/v1: ", caOnly.Stderr);
        run.EnsureSuccess();
        (await Tl("rm", "secure")).EnsureSuccess();
    }
}
