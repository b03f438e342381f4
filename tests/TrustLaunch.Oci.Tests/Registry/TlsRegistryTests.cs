using System.Diagnostics;
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
        using var client = new RegistryClient(new RegistryClientOptions { PlainHttpForLoopback = false });
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.Equal($"GET https://{registry.Host}/v2/test/busybox/manifests/v1: The SSL connection could not be established: " +
                     "The remote certificate is invalid because of errors in the certificate chain: PartialChain", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }
}
