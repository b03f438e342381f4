using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>A registry behind TLS that demands a client certificate, with one image pushed (skopeo presents the fixture's).</summary>
public sealed class ClientCertificateImagesFixture : RegistryFixture
{
    public ClientCertificateImagesFixture() : base(RegistryAuthMode.None, requireClientCertificate: true)
    {
    }

    public PushedImage Image { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Image = await TestImages.BuildAndPushAsync(this, "test/busybox", "v1");
    }
}

[Trait("Category", "Slow")]
public sealed class CertsDirectoryTests(ClientCertificateImagesFixture registry) : IClassFixture<ClientCertificateImagesFixture>, IDisposable
{
    private readonly string _certs = Directory.CreateTempSubdirectory("trustlaunch-certs.d-").FullName;

    public void Dispose() => Directory.Delete(_certs, recursive: true);

    private string HostDirectory()
    {
        var host = Directory.CreateDirectory(Path.Combine(_certs, registry.Host)).FullName;
        File.Copy(registry.CaPemPath, Path.Combine(host, "ca.crt"));
        return host;
    }

    private RegistryClient Client() => new(new RegistryClientOptions { PlainHttpForLoopback = false, Certs = new CertsDirectory(_certs) });

    [Fact]
    public async Task GetManifestAsync_CaAndClientCertificateFromCertsD_Succeeds()
    {
        var host = HostDirectory();
        File.Copy(registry.ClientCertPath, Path.Combine(host, "client.cert"));
        File.Copy(registry.ClientKeyPath, Path.Combine(host, "client.key"));
        using var client = Client();
        Assert.Equal(registry.Image.ManifestDigest, (await client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference))).Digest.ToString());
    }

    [Fact]
    public async Task GetManifestAsync_CaOnlyNoClientCertificate_RegistryRefusesHandshake()
    {
        HostDirectory();
        using var client = Client();
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.StartsWith($"GET https://{registry.Host}/v2/test/busybox/manifests/v1: ", e.Message);
    }

    [Fact]
    public async Task GetManifestAsync_NoCertsDirectoryForHost_UnknownCaRefused()
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.EndsWith("The remote certificate is invalid because of errors in the certificate chain: PartialChain", e.Message);
    }

    [Fact]
    public void For_CertificateWithoutKey_Refused()
    {
        var host = HostDirectory();
        File.Copy(registry.ClientCertPath, Path.Combine(host, "client.cert"));
        var e = Assert.Throws<FormatException>(() => new CertsDirectory(_certs).For(registry.Host));
        Assert.Equal($"certs.d {Path.Combine(host, "client.cert")}: client certificate without its key client.key", e.Message);
    }
}
