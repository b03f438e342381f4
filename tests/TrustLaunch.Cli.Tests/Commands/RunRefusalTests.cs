using System.Security.Cryptography;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Every way an image's content can be refused ends the same: <c>trustlaunch run</c> exits 3 with
/// <c>NOT verified: REASON</c>, the agent's log holds one <c>ImageRejected</c> with that reason, and nothing is left.
/// Golden values are checked before any layer is fetched. Real docker-registry, real agent on swtpm.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunRefusalTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private static readonly Digest AnyRootfs = Digest.Sha256("not unpackable"u8);
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    private (string Private, string Public) Key(string name) => ImageRegistryFixture.WriteKeyPair(_scratch.Path, name);

    private async Task<(string Reference, string Digest, string TrustedKey)> PublishAsync(string repository, string? privateKey = null, string? publicKey = null)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = privateKey is null ? Key("publisher-" + repository.Replace('/', '-')) : (privateKey, publicKey!);
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, image.ManifestDigest, pub);
    }

    /// <summary>Runs REF, expects exit 3 with exactly <c>NOT verified: REASON</c> (matching <paramref name="reasonPattern"/>), one
    /// ImageRejected for <paramref name="digest"/> with that reason, and no container directory; returns the reason.</summary>
    private async Task<string> AssertRefusedAsync(string reference, string digest, string reasonPattern, params string[] options)
    {
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;

        var run = await Tl("run", [reference, "--name", "refused", .. options]);

        Assert.Equal(3, run.ExitCode);
        Assert.Matches($"^NOT verified: {reasonPattern}\n$", run.Stderr);
        var reason = run.Stderr["NOT verified: ".Length..].TrimEnd('\n');
        var rejected = Assert.Single(await agent.Deployment.ReadLogAsync(since));
        var line = EventLine.Parse(rejected.Content);
        Assert.Equal(LaunchEvents.ImageRejected, line.Operation);
        Assert.Equal(digest, line.Content.GetProperty("digest").GetString());
        Assert.Equal(reason, line.Content.GetProperty("reason").GetString());
        Assert.False(Directory.Exists(Path.Combine(DataDir, "containers", "refused")));
        return reason;
    }

    private bool StoreHasBlob(Digest digest) => File.Exists(Path.Combine(DataDir, "blobs", digest.Algorithm, digest.Hex));

    [Fact]
    public async Task Run_ManifestInflatesALayerSize_RefusedBeforeAnyLayerIsFetched()
    {
        var (reference, published, trusted) = await PublishAsync("refuse/inflated");
        var manifest = await CraftedImages.GetManifestAsync(reference);
        var inflated = manifest with { Layers = [manifest.Layers[0] with { Size = manifest.Layers[0].Size + 4096 }, .. manifest.Layers.Skip(1)] };
        var digest = await CraftedImages.PushManifestAsync(reference, inflated);
        await ImageRegistryFixture.CopyGoldenValueAsync(reference, published, digest.ToString());

        await AssertRefusedAsync(reference, digest.ToString(),
            $"manifest digest mismatch: golden value is for {published}, image is {digest}", "--trust", trusted);

        Assert.All(manifest.Layers, l => Assert.False(StoreHasBlob(l.Digest), $"layer {l.Digest} was downloaded before the golden value was checked"));
    }

    [Fact]
    public async Task Run_LayerCorruptedInTheRegistry_DigestMismatchMeasured()
    {
        // A layer of its own: the registry stores blobs once for all repositories.
        var (priv, pub) = Key("corrupt");
        var layer = CraftedLayer.Gzip(CraftedImages.Tar(("etc/payload", RandomNumberGenerator.GetBytes(4096))));
        var (reference, digest) = await CraftedImages.PushAsync(registry, "refuse/corrupt", "v1", layer);
        await CraftedImages.PublishGoldenAsync(reference, priv, AnyRootfs);
        var blob = Digest.Sha256(layer.Blob);
        var data = CraftedImages.RegistryBlobPath(registry, blob);
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[^20] ^= 0xFF;
        await File.WriteAllBytesAsync(data, bytes);

        await AssertRefusedAsync(reference, digest.ToString(),
            $@"blob {ImageReference.Parse(reference).Name}@{blob}: digest mismatch: expected {blob}, got sha256:[0-9a-f]{{64}}", "--trust", pub);
        Assert.False(StoreHasBlob(blob));
    }

    [Fact]
    public async Task Run_ConfigChangedInTheStoreAfterThePull_RefusedWhenReadAgain()
    {
        var (reference, digest, trusted) = await PublishAsync("refuse/stored-config");
        (await CliHarness.RunAsync("image", "pull", reference, "--data-dir", DataDir)).EnsureSuccess();
        var config = (await CraftedImages.GetManifestAsync(reference)).Config.Digest;
        var path = Path.Combine(DataDir, "blobs", "sha256", config.Hex);
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("/bin/busybox", "/bin/evilbox", StringComparison.Ordinal));

        await AssertRefusedAsync(reference, digest,
            $@"blob {config} in the content store {DataDir}: digest mismatch: expected {config}, got sha256:[0-9a-f]{{64}}", "--trust", trusted);
    }

    [Fact]
    public async Task Run_LayerChangedInTheStoreBeforeTheSnapshotIsBuilt_Refused()
    {
        var (reference, digest, trusted) = await PublishAsync("refuse/stored-layer");
        (await CliHarness.RunAsync("image", "pull", reference, "--data-dir", DataDir)).EnsureSuccess();
        var layer = (await CraftedImages.GetManifestAsync(reference)).Layers[1].Digest;
        // One byte more than the descriptor says: the stored blob is no longer the one pulled and verified.
        await File.AppendAllTextAsync(Path.Combine(DataDir, "blobs", "sha256", layer.Hex), "x");

        await AssertRefusedAsync(reference, digest,
            $@"blob {layer} in the content store {DataDir}: size mismatch: more than the expected \d+ bytes", "--trust", trusted);
        Assert.False(Directory.Exists(Path.Combine(DataDir, "snapshots", digest["sha256:".Length..], "rootfs")));
    }

    [Fact]
    public async Task Run_LayerEscapesTheRoot_UnpackRefusalMeasured()
    {
        var (priv, pub) = Key("escape");
        var (reference, digest) = await CraftedImages.PushAsync(registry, "refuse/escape", "v1",
            CraftedLayer.Gzip(CraftedImages.Tar(("etc/ok", "fine\n"u8.ToArray()), ("../outside", "escaped\n"u8.ToArray()))));
        await CraftedImages.PublishGoldenAsync(reference, priv, AnyRootfs);

        await AssertRefusedAsync(reference, digest.ToString(), "entry '../outside' has a '..' component", "--trust", pub);
    }

    [Fact]
    public async Task Run_DecompressionBomb_RatioLimitMeasured()
    {
        var (priv, pub) = Key("bomb");
        var layer = CraftedLayer.Gzip(CraftedImages.Tar(("zeros", new byte[32 << 20])));
        var (reference, digest) = await CraftedImages.PushAsync(registry, "refuse/bomb", "v1", layer);
        await CraftedImages.PublishGoldenAsync(reference, priv, AnyRootfs);

        await AssertRefusedAsync(reference, digest.ToString(), $@"layer {Digest.Sha256(layer.Blob)} expands beyond 200:1 \(decompression bomb\?\)", "--trust", pub);
    }

    [Fact]
    public async Task Run_UnsupportedLayerMediaType_RefusedBeforeTheLayerIsFetched()
    {
        var (priv, pub) = Key("lz4");
        var layer = CraftedLayer.Plain(CraftedImages.Tar(("etc/ok", "fine\n"u8.ToArray()))) with { MediaType = "application/vnd.example.layer.v1.tar+lz4" };
        var (reference, digest) = await CraftedImages.PushAsync(registry, "refuse/lz4", "v1", layer);
        await CraftedImages.PublishGoldenAsync(reference, priv, AnyRootfs);

        await AssertRefusedAsync(reference, digest.ToString(),
            @"unsupported: layer media type 'application/vnd\.example\.layer\.v1\.tar\+lz4' is not a tar, tar\+gzip or tar\+zstd layer", "--trust", pub);
        Assert.False(StoreHasBlob(Digest.Sha256(layer.Blob)));
    }

    [Fact]
    public async Task Run_EncryptedWithAKeyNotGiven_DecryptionFailureMeasured()
    {
        var (reference, digest, pub, _) = await EncryptedAsync("refuse/wrong-key");
        var (wrong, _) = Key("wrong-key");

        await AssertRefusedAsync(reference, digest.ToString(),
            @"decryption failed: layer sha256:[0-9a-f]{64}: none of the 1 decryption key\(s\) \(.+\) can unwrap any of its 1 JWE recipient\(s\)",
            "--trust", pub, "--decryption-key", wrong);
    }

    [Fact]
    public async Task Run_CiphertextModified_HmacFailureMeasured()
    {
        var (reference, _, pub, key) = await EncryptedAsync("refuse/hmac");
        var manifest = await CraftedImages.GetManifestAsync(reference);
        using var client = new RegistryClient();
        var encrypted = manifest.Layers[0];
        byte[] ciphertext;
        await using (var blob = await client.OpenBlobAsync(ImageReference.Parse(reference), encrypted.Digest, encrypted.Size))
        {
            using var buffer = new MemoryStream();
            await blob.CopyToAsync(buffer);
            ciphertext = buffer.ToArray();
        }
        ciphertext[^1] ^= 0x01; // in the tar's zero padding, which the tar reader never interprets: only the HMAC can tell
        await client.PushBlobAsync(ImageReference.Parse(reference), ciphertext);
        var tampered = await CraftedImages.PushManifestAsync(reference,
            manifest with { Layers = [encrypted with { Digest = Digest.Sha256(ciphertext) }] });
        await CraftedImages.PublishGoldenAsync(reference, key, AnyRootfs);

        await AssertRefusedAsync(reference, tampered.ToString(),
            @"decryption failed: layer sha256:[0-9a-f]{64}: HMAC mismatch at end of stream after \d+ bytes: the encrypted layer was modified; discard everything read from it",
            "--trust", pub, "--decryption-key", _scratch["enc.pem"]);
    }

    /// <summary>An uncompressed one-layer image encrypted (JWE, EC key <c>enc.pem</c>) into REPO:v1 and its golden value;
    /// returns the reference, digest, the publisher's public and private key.</summary>
    private async Task<(string Reference, Digest Digest, string Publisher, string PublisherKey)> EncryptedAsync(string repository)
    {
        var (priv, pub) = Key("publisher-" + repository.Replace('/', '-'));
        var (source, _) = await CraftedImages.PushAsync(registry, repository + "-plain", "v1",
            CraftedLayer.Plain(CraftedImages.Tar(("etc/payload", RandomNumberGenerator.GetBytes(8192)))));
        var (encPriv, encPub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "enc");
        var reference = $"{registry.Host}/{repository}:v1";
        (await CliHarness.RunAsync("image", "encrypt", source, reference, "--recipient", "jwe:" + encPub, "--data-dir", _scratch["encrypt"])).EnsureSuccess();
        (await CliHarness.RunAsync("golden", "publish", reference, "--key", priv, "--decryption-key", encPriv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        using var client = new RegistryClient();
        return (reference, (await client.ResolveImageAsync(ImageReference.Parse(reference))).Manifest.Digest, pub, priv);
    }
}
