using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>image encrypt</c> (decrypted by skopeo) and <c>image pull|unpack --decryption-key</c>.</summary>
public sealed class ImageEncryptTests(ImageRegistryFixture registry) : IClassFixture<ImageRegistryFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Image(params string[] args) => CliHarness.RunAsync(["image", .. args, "--data-dir", DataDir]);

    /// <summary>Encrypts the busybox image for an EC and an RSA key into REPO:v1; returns the destination reference.</summary>
    private async Task<(string Reference, string Ec, string Rsa)> EncryptAsync(string repository)
    {
        var ec = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "ec");
        var rsa = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "rsa", rsa: true);
        var destination = $"{registry.Host}/{repository}:v1";
        var result = (await Image("encrypt", registry.Busybox.Reference, destination, "--recipient", "jwe:" + ec.Public, "--recipient", "jwe:" + rsa.Public)).EnsureSuccess();
        Assert.Matches($@"pushed {System.Text.RegularExpressions.Regex.Escape(destination)} sha256:[0-9a-f]{{64}} \(2 layers encrypted for 2 recipients\)\n$", result.Stdout);
        return (destination, ec.Private, rsa.Private);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Encrypt_ThenSkopeoDecrypts_LayersMatchOriginal()
    {
        var (destination, ec, rsa) = await EncryptAsync("test/enc-skopeo");
        var original = ImageRegistryFixture.LayoutManifest(registry.LayoutA, out _);

        foreach (var key in new[] { ec, rsa })
        {
            var layout = _scratch["dec-" + Path.GetFileNameWithoutExtension(key)];
            (await ProcessRunner.RunAsync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--decryption-key", key, $"docker://{destination}", $"oci:{layout}:t"]))
                .EnsureSuccess("skopeo copy --decryption-key");
            var decrypted = ImageRegistryFixture.LayoutManifest(layout, out _);
            Assert.Equal(original.Layers.Select(l => l.Digest), decrypted.Layers.Select(l => l.Digest));
            Assert.All(decrypted.Layers, l => Assert.Equal(MediaTypes.OciLayerGzip, l.MediaType));
        }

        var (wrong, _) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "wrong");
        var refused = await ProcessRunner.RunAsync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--decryption-key", wrong, $"docker://{destination}", $"oci:{_scratch["dec-wrong"]}:t"]);
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Unpack_EncryptedWithRightKey_SameRootfsAsPlain()
    {
        var (destination, ec, _) = await EncryptAsync("test/enc-right");
        var plain = (await Image("unpack", registry.Busybox.Reference, _scratch["plain"], "--json")).EnsureSuccess().Json;

        var encrypted = (await Image("unpack", destination, _scratch["enc"], "--decryption-key", ec, "--json")).EnsureSuccess().Json;

        Assert.Equal(plain.GetProperty("rootfs_digest").GetString(), encrypted.GetProperty("rootfs_digest").GetString());
        Assert.Equal("hello from image A\n", File.ReadAllText(Path.Combine(_scratch["enc"], "rootfs", "etc", "hello.txt")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task UnpackAndPull_EncryptedWithWrongKey_ExactErrorNoRootfs()
    {
        var (destination, _, _) = await EncryptAsync("test/enc-wrong");
        var (wrong, _) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "other");
        var manifest = (await Image("pull", destination, "--json")).EnsureSuccess();
        var layer = (await Image("inspect", destination, "--json")).EnsureSuccess().Json.GetProperty("layers")[0].GetProperty("digest").GetString();
        var bundle = _scratch["wrong"];

        var unpack = await Image("unpack", destination, bundle, "--decryption-key", wrong);
        var pull = await Image("pull", destination, "--decryption-key", wrong);

        var expected = $"error: layer {layer}: none of the 1 decryption key(s) ({wrong}) can unwrap any of its 2 JWE recipient(s)\n";
        Assert.Equal(1, unpack.ExitCode);
        Assert.Equal(expected, unpack.Stderr);
        Assert.False(Directory.Exists(Path.Combine(bundle, "rootfs")));
        Assert.Equal(1, pull.ExitCode);
        Assert.Equal(expected, pull.Stderr);
        Assert.NotNull(manifest);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Unpack_EncryptedWithoutKey_ExitOneNoRootfs()
    {
        var (destination, _, _) = await EncryptAsync("test/enc-nokey");
        var bundle = _scratch["nokey"];

        var result = await Image("unpack", destination, bundle);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"^error: layer sha256:[0-9a-f]{64} is encrypted: pass its key with --decryption-key FILE\n$", result.Stderr);
        Assert.False(Directory.Exists(Path.Combine(bundle, "rootfs")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Unpack_EncryptedLayerModifiedInStore_FailsAndLeavesNoRootfs()
    {
        var (destination, ec, _) = await EncryptAsync("test/enc-tampered");
        (await Image("pull", destination)).EnsureSuccess();
        var layer = (await Image("inspect", destination, "--json")).EnsureSuccess().Json.GetProperty("layers")[1].GetProperty("digest").GetString()!;
        var blob = Path.Combine(DataDir, "blobs", "sha256", layer["sha256:".Length..]);
        var bytes = File.ReadAllBytes(blob);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(blob, bytes);
        var bundle = _scratch["tampered"];

        var result = await Image("unpack", destination, bundle, "--decryption-key", ec);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: layer {layer}", result.Stderr);
        Assert.False(Directory.Exists(Path.Combine(bundle, "rootfs")));
        Assert.Empty(Directory.Exists(bundle) ? Directory.GetFileSystemEntries(bundle) : []);
    }

    /// <summary>
    /// A byte flipped in a stored ciphertext (in GNU tar's zero padding, which the tar reader never interprets) is
    /// refused before the tree is committed: the stored blob is hashed again as it is unpacked. (A flip the blob's
    /// digest agrees with is left to the HMAC: RunRefusalTests.Run_CiphertextModified_HmacFailureMeasured.)
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Unpack_EncryptedTarLayerModifiedInTheStore_RefusedAndLeavesNoRootfs()
    {
        var source = await PushUncompressedImageAsync("test/plain-tar");
        var ec = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "ec");
        var destination = $"{registry.Host}/test/enc-tar:v1";
        (await Image("encrypt", source, destination, "--recipient", "jwe:" + ec.Public)).EnsureSuccess();
        (await Image("unpack", destination, _scratch["good"], "--decryption-key", ec.Private)).EnsureSuccess();
        var layer = (await Image("inspect", destination, "--json")).EnsureSuccess().Json.GetProperty("layers")[0];
        Assert.Equal(MediaTypes.OciLayerTarEncrypted, layer.GetProperty("media_type").GetString());
        var digest = layer.GetProperty("digest").GetString()!;
        var blob = Path.Combine(DataDir, "blobs", "sha256", digest["sha256:".Length..]);
        var bytes = File.ReadAllBytes(blob);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(blob, bytes);
        var bundle = _scratch["tampered"];

        var result = await Image("unpack", destination, bundle, "--decryption-key", ec.Private);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches($"^error: blob {digest} in the content store {DataDir}: digest mismatch: expected {digest}, got sha256:[0-9a-f]{{64}}\n$", result.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(bundle));
    }

    /// <summary>Pushes a one-layer image whose layer is a plain tar made by GNU tar (busybox and /etc/hello.txt).</summary>
    private async Task<string> PushUncompressedImageAsync(string repository)
    {
        var tree = Directory.CreateDirectory(_scratch["tree"]).FullName;
        Directory.CreateDirectory(Path.Combine(tree, "bin"));
        Directory.CreateDirectory(Path.Combine(tree, "etc"));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin", "busybox"));
        File.WriteAllText(Path.Combine(tree, "etc", "hello.txt"), "hello from a plain tar\n");
        var tarPath = _scratch["layer.tar"];
        (await ProcessRunner.RunAsync("tar", ["--format=posix", "--numeric-owner", "-C", tree, "-cf", tarPath, "bin", "etc"])).EnsureSuccess("tar");
        var tar = File.ReadAllBytes(tarPath);
        var diffId = Digest.Sha256(tar);
        var config = Encoding.UTF8.GetBytes($$$"""{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/busybox","sh"]},"rootfs":{"type":"layers","diff_ids":["{{{diffId}}}"]}}""");
        var manifest = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"mediaType":"{{{MediaTypes.OciConfig}}}","digest":"{{{Digest.Sha256(config)}}}","size":{{{config.Length}}}},"layers":[{"mediaType":"{{{MediaTypes.OciLayerTar}}}","digest":"{{{diffId}}}","size":{{{tar.Length}}}}]}""");
        var reference = ImageReference.Parse($"{registry.Host}/{repository}:v1");
        using var client = new RegistryClient();
        await client.PushBlobAsync(reference, tar);
        await client.PushBlobAsync(reference, config);
        await client.PushManifestAsync(reference, manifest, MediaTypes.OciManifest);
        return reference.ToString();
    }

    [Theory]
    [InlineData("rsa:{0}", "error: --recipient 'rsa:{0}': only jwe:PUBLIC-KEY.pem and provider:trustlaunch:kbs:///REPOSITORY/TYPE/TAG recipients are supported\n")]
    [InlineData("jwe:{0}.missing", "error: --recipient jwe:{0}.missing: no such file\n")]
    [InlineData("provider:other:kbs:///default/image-key/app",
        "error: --recipient 'provider:other:kbs:///default/image-key/app': only jwe:PUBLIC-KEY.pem and provider:trustlaunch:kbs:///REPOSITORY/TYPE/TAG recipients are supported\n")]
    [InlineData("provider:trustlaunch:kbs://kbs.example:8080/default/image-key/app",
        "error: --recipient provider:trustlaunch:kbs://kbs.example:8080/default/image-key/app: resource URI 'kbs://kbs.example:8080/default/image-key/app' names the broker kbs.example:8080: the key-encryption key is kept at the --kbs-admin broker, name it kbs:///default/image-key/app\n")]
    [InlineData("provider:trustlaunch:default/image-key/app",
        "error: --recipient provider:trustlaunch:default/image-key/app: resource URI 'default/image-key/app' does not start with kbs://\n")]
    public async Task Encrypt_BadRecipient_ExitTwo(string recipient, string expected)
    {
        var (_, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "r");

        var result = await Image("encrypt", registry.Busybox.Reference, $"{registry.Host}/test/never:v1", "--recipient", string.Format(recipient, pub));

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Format(expected, pub), result.Stderr);
    }
}
