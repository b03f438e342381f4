using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

public sealed class TlsImagesFixture : RegistryFixture
{
    public TlsImagesFixture() : base(RegistryAuthMode.None, tls: true)
    {
    }

    public PushedImage Image { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Image = await TestImages.BuildAndPushAsync(this, "test/busybox", "v1");
    }
}

public sealed class TlsRegistryTests(TlsImagesFixture registry) : IClassFixture<TlsImagesFixture>
{
    [Fact]
    public async Task GetManifestAsync_ExtraCa_TrustsRegistry()
    {
        using var client = new RegistryClient(new RegistryClientOptions { PlainHttpForLoopback = false, ExtraCaPemFile = registry.CaPemPath });
        var reference = ImageReference.Parse(registry.Image.Reference);
        Assert.StartsWith("https://", client.BaseUri(reference).ToString());
        Assert.Equal(registry.Image.ManifestDigest, (await client.GetManifestAsync(reference)).Digest.ToString());
    }

    [Fact]
    public async Task GetManifestAsync_UnknownCa_RefusedWithoutRetries()
    {
        // Through a forwarder that counts connections: a certificate refusal is final, so exactly one connection.
        await using var forwarder = new TcpPortForwarder(registry.Port);
        using var client = new RegistryClient(new RegistryClientOptions { PlainHttpForLoopback = false });
        var reference = ImageReference.Parse($"127.0.0.1:{forwarder.Port}/test/busybox:v1");
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(reference));
        Assert.Equal($"GET https://127.0.0.1:{forwarder.Port}/v2/test/busybox/manifests/v1: The SSL connection could not be established: " +
                     "The remote certificate is invalid because of errors in the certificate chain: PartialChain", e.Message);
        Assert.Equal(1, forwarder.Connections);
    }
}
