using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Crypt;

/// <summary>A busybox image in an OCI layout (umoci), and keys made with openssl, shared by the interop tests.</summary>
public sealed class BusyboxLayoutFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("tl-ocicrypt-").FullName;
    public string Source => Path.Combine(Dir, "src");

    public async Task InitializeAsync()
    {
        await Run("umoci", "init", "--layout", Source);
        await Run("umoci", "new", "--image", Source + ":t");
        var bundle = Path.Combine(Dir, "bundle");
        await Run("umoci", "unpack", "--image", Source + ":t", bundle);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "bin"));
        File.Copy("/bin/busybox", Path.Combine(bundle, "rootfs", "bin", "busybox"));
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "bin", "sh"), "busybox");
        await Run("umoci", "repack", "--image", Source + ":t", bundle);
        await Run("openssl", "genrsa", "-out", Key("rsa"), "2048");
        await Run("openssl", "genrsa", "-traditional", "-out", Key("rsa1"), "2048");
        await Run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", Key("p256"));
        await Run("openssl", "ecparam", "-name", "secp384r1", "-genkey", "-out", Key("p384"));
        foreach (var k in new[] { "rsa", "rsa1" })
            await Run("openssl", "rsa", "-in", Key(k), "-pubout", "-out", Pub(k));
        foreach (var k in new[] { "p256", "p384" })
        {
            await Run("openssl", "ec", "-in", Key(k), "-pubout", "-out", Pub(k));
            // skopeo 1.9 (ocicrypt) reads only the first PEM block of --decryption-key, which in `openssl ecparam
            // -genkey` output is EC PARAMETERS ("missing private key needed for decryption"); give it PKCS#8.
            await Run("openssl", "pkey", "-in", Key(k), "-out", Key(k + "-pkcs8"));
        }
    }

    public string Key(string name) => Path.Combine(Dir, name + ".pem");
    public string Pub(string name) => Path.Combine(Dir, name + ".pub.pem");

    public static async Task<ProcessResult> Run(string tool, params string[] args) =>
        (await ProcessRunner.RunAsync(tool, args)).EnsureSuccess(tool + " " + string.Join(' ', args));

    public Task DisposeAsync()
    {
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class SkopeoInteropTests(BusyboxLayoutFixture fx) : IClassFixture<BusyboxLayoutFixture>
{
    [Theory]
    [InlineData("rsa")]
    [InlineData("rsa1")]
    [InlineData("p256")]
    [InlineData("p384")]
    public async Task Decrypt_SkopeoEncryptedLayer_MatchesOriginal(string key)
    {
        var enc = Path.Combine(fx.Dir, "enc-" + key);
        await BusyboxLayoutFixture.Run("skopeo", "copy", "--encryption-key", "jwe:" + fx.Pub(key), $"oci:{fx.Source}:t", $"oci:{enc}:t");
        var original = new OciLayout(fx.Source).Manifest("t", out _).Layers.Single();
        var encLayout = new OciLayout(enc);
        var layer = encLayout.Manifest("t", out _).Layers.Single();
        Assert.Equal(MediaTypes.OciLayerGzipEncrypted, layer.MediaType);

        using var decryptionKey = DecryptionKey.FromFile(fx.Key(key));
        Assert.Equal(original.Digest, Ocicrypt.DecryptedDescriptor(layer, [decryptionKey]).Digest);
        await using var stream = Ocicrypt.Decrypt(layer, File.OpenRead(encLayout.BlobPath(layer.Digest)), [decryptionKey]);
        using var hash = original.Digest.CreateHash();
        var buffer = new byte[65536];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
            hash.AppendData(buffer, 0, n);
        Assert.Equal(original.Digest, Digest.FromHash("sha256", hash.GetHashAndReset()));
    }

    [Fact]
    public async Task Decrypt_SkopeoEncryptedTampered_HmacErrorAtEnd()
    {
        var enc = Path.Combine(fx.Dir, "enc-tampered");
        await BusyboxLayoutFixture.Run("skopeo", "copy", "--encryption-key", "jwe:" + fx.Pub("p256"), $"oci:{fx.Source}:t", $"oci:{enc}:t");
        var encLayout = new OciLayout(enc);
        var layer = encLayout.Manifest("t", out _).Layers.Single();
        var ciphertext = File.ReadAllBytes(encLayout.BlobPath(layer.Digest));
        ciphertext[^1] ^= 0x80;
        using var key = DecryptionKey.FromFile(fx.Key("p256"));
        await using var stream = Ocicrypt.Decrypt(layer, new MemoryStream(ciphertext), [key]);
        var e = await Assert.ThrowsAsync<LayerIntegrityException>(() => stream.CopyToAsync(Stream.Null));
        Assert.Equal($"layer {layer.Digest}: HMAC mismatch at end of stream after {ciphertext.Length} bytes: the encrypted layer was modified; discard everything read from it", e.Message);
    }

    [Fact]
    public async Task Decrypt_SkopeoEncryptedForOtherKey_ExactError()
    {
        var enc = Path.Combine(fx.Dir, "enc-other");
        await BusyboxLayoutFixture.Run("skopeo", "copy", "--encryption-key", "jwe:" + fx.Pub("rsa"), "--encryption-key", "jwe:" + fx.Pub("p256"), $"oci:{fx.Source}:t", $"oci:{enc}:t");
        var layer = new OciLayout(enc).Manifest("t", out _).Layers.Single();
        using var wrong = DecryptionKey.FromFile(fx.Key("p384"));
        var e = Assert.Throws<System.Security.Cryptography.CryptographicException>(() => Ocicrypt.Decrypt(layer, Stream.Null, [wrong]));
        Assert.Equal($"layer {layer.Digest}: none of the 1 decryption key(s) ({fx.Key("p384")}) can unwrap any of its 2 JWE recipient(s)", e.Message);
    }

    [Fact]
    public async Task Encrypt_OurLayout_SkopeoDecrypts()
    {
        var source = new OciLayout(fx.Source);
        var manifest = source.Manifest("t", out _);
        var plain = manifest.Layers.Single();
        var ours = OciLayout.Create(Path.Combine(fx.Dir, "ours"));
        File.Copy(source.BlobPath(manifest.Config.Digest), ours.BlobPath(manifest.Config.Digest));
        var recipients = new[] { "rsa", "p256", "p384" }.Select(k => EncryptionRecipient.FromFile(fx.Pub(k))).ToList();
        var temp = Path.Combine(ours.Root, "layer.tmp");
        OciDescriptor encrypted;
        await using (var input = File.OpenRead(source.BlobPath(plain.Digest)))
        await using (var output = File.Create(temp))
            encrypted = await Ocicrypt.EncryptAsync(plain, input, output, recipients);
        File.Move(temp, ours.BlobPath(encrypted.Digest));
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest with { MediaType = MediaTypes.OciManifest, Layers = [encrypted] }, OciJsonContext.Default.OciManifest);
        ours.WriteIndex("t", ours.WriteBlob(manifestBytes), manifestBytes.Length);

        foreach (var key in new[] { "rsa", "p256", "p384" })
        {
            var dec = Path.Combine(fx.Dir, "dec-" + key);
            await BusyboxLayoutFixture.Run("skopeo", "copy", "--decryption-key", fx.Key(key == "rsa" ? key : key + "-pkcs8"), $"oci:{ours.Root}:t", $"oci:{dec}:t");
            var decrypted = new OciLayout(dec).Manifest("t", out _).Layers.Single();
            Assert.Equal(plain.Digest, decrypted.Digest);
            Assert.Equal(MediaTypes.OciLayerGzip, decrypted.MediaType);
        }

        var wrong = await ProcessRunner.RunAsync("skopeo", ["copy", "--decryption-key", fx.Key("rsa1"), $"oci:{ours.Root}:t", $"oci:{Path.Combine(fx.Dir, "dec-wrong")}:t"]);
        Assert.NotEqual(0, wrong.ExitCode);
    }
}
