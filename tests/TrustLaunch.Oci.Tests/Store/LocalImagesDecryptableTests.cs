using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Store;
using TrustLaunch.Oci.Tests.Crypt;

namespace TrustLaunch.Oci.Tests.Store;

/// <summary>What <see cref="LocalImages.CheckDecryptableAsync"/> lets through before a layer is downloaded.</summary>
public sealed class LocalImagesDecryptableTests
{
    private const string Kid = "kbs:///default/key/app";
    private static readonly byte[] Kek = RandomNumberGenerator.GetBytes(32);

    private static async Task<OciManifest> ProviderManifestAsync()
    {
        var plain = RandomNumberGenerator.GetBytes(4096);
        var plainLayer = new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Sha256(plain), Size = plain.Length };
        using var provider = new ProviderRecipient(Kid, Kek);
        var layers = new List<OciDescriptor>();
        for (var i = 0; i < 2; i++)
            layers.Add(await Ocicrypt.EncryptAsync(plainLayer, new MemoryStream(plain), new MemoryStream(), [], [provider]));
        var config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Sha256([1]), Size = 1 };
        return new OciManifest { Config = config, Layers = layers };
    }

    [Fact]
    public async Task CheckDecryptable_ProviderLayersWithAKeySource_AcceptedEachKidAsked()
    {
        var manifest = await ProviderManifestAsync();
        var broker = new KekTable(new() { [Kid] = Kek });

        await LocalImages.CheckDecryptableAsync(manifest, [], broker, CancellationToken.None);

        Assert.Equal([Kid, Kid], broker.Asked);
    }

    [Fact]
    public async Task CheckDecryptable_ProviderLayersWithoutAKeySource_RefusedWithTheReason()
    {
        var manifest = await ProviderManifestAsync();

        var refused = await Assert.ThrowsAsync<CryptographicException>(() => LocalImages.CheckDecryptableAsync(manifest, [], null, CancellationToken.None));

        Assert.Equal($"layer {manifest.Layers[0].Digest} is encrypted for key provider trustlaunch: its key comes through a key broker, and this launch has none (serve agent --kbs URL), nor a --decryption-key FILE",
            refused.Message);
    }

    [Fact]
    public async Task CheckDecryptable_KeySourceWithoutTheKid_RefusedWithTheSourcesReason()
    {
        var manifest = await ProviderManifestAsync();

        var refused = await Assert.ThrowsAsync<CryptographicException>(() =>
            LocalImages.CheckDecryptableAsync(manifest, [], new KekTable([]), CancellationToken.None));

        Assert.Equal($"layer {manifest.Layers[0].Digest}: no key-encryption key {Kid}", refused.Message);
    }
}
