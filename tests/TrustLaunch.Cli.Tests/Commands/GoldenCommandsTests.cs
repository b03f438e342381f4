using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>trustlaunch golden publish|show|verify</c> against a real docker-registry on loopback.</summary>
public sealed class GoldenCommandsTests(ImageRegistryFixture registry) : IClassFixture<ImageRegistryFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Golden(params string[] args) => CliHarness.RunAsync(["golden", .. args, "--data-dir", DataDir]);

    private static string KeyId(string publicPem)
    {
        using var verifier = PemPayloadVerifier.FromFile(publicPem);
        return verifier.KeyId;
    }

    /// <summary>Pushes image A to a fresh repository and publishes its golden value with a new EC key.</summary>
    private async Task<(PushedImage Image, string Private, string Public)> PublishAsync(string repository, params string[] extra)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-" + repository.Replace('/', '-'));
        var result = (await Golden(["publish", image.Reference, "--key", priv, .. extra])).EnsureSuccess();
        var tag = $"{registry.Host}/{repository}:sha256-{image.ManifestDigest["sha256:".Length..]}.golden";
        Assert.Contains($"published {tag}\n", result.Stdout);
        Assert.Contains($"key id:  {KeyId(pub)} (ES256)\n", result.Stdout);
        return (image, priv, pub);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PublishThenVerify_TrustedKey_VerifiedExitZero()
    {
        var (image, _, pub) = await PublishAsync("golden/ok");

        var verify = await Golden("verify", image.Reference, "--trust", pub);
        var show = (await Golden("show", image.Reference)).EnsureSuccess();
        var json = (await Golden("show", image.Reference, "--json")).EnsureSuccess().Json;

        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("verified\n", verify.Stdout);
        Assert.Contains($"publisher key: {KeyId(pub)}\n", verify.Stdout);
        Assert.Contains("(unverified: signature and publisher not checked)", show.Stdout);
        Assert.Contains($"publisher key: {KeyId(pub)} (ES256)\n", show.Stdout);
        Assert.False(json.GetProperty("verified").GetBoolean());
        Assert.Equal(image.ManifestDigest, json.GetProperty("value").GetProperty("manifest_digest").GetString());
        Assert.Equal(image.Reference, json.GetProperty("value").GetProperty("reference").GetString());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Verify_OnlyAnotherKeyTrusted_ExitThreeUntrusted()
    {
        var (image, _, pub) = await PublishAsync("golden/untrusted");
        var (_, other) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "other");

        var result = await Golden("verify", image.Reference, "--trust", other);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"NOT verified: untrusted publisher key {KeyId(pub)}\n", result.Stdout);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Verify_TrustDirectoryWithPublisherKey_Verified()
    {
        var (image, _, pub) = await PublishAsync("golden/trustdir");
        var dir = Directory.CreateDirectory(_scratch["trusted"]).FullName;
        File.Copy(ImageRegistryFixture.WriteKeyPair(_scratch.Path, "unrelated").Public, Path.Combine(dir, "a-unrelated.pem"));
        File.Copy(pub, Path.Combine(dir, "b-publisher.pem"));

        var result = await Golden("verify", image.Reference, "--trust", dir);

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Verify_TagMovedToAnotherImage_NoGoldenValueThenManifestMismatch()
    {
        var (a, _, pub) = await PublishAsync("golden/moved");
        var b = await registry.PushAsync(registry.LayoutB, "golden/moved", "v1");
        Assert.NotEqual(a.ManifestDigest, b.ManifestDigest);

        var missing = await Golden("verify", a.Reference, "--trust", pub);
        // An attacker also copies A's golden value onto B's golden tag.
        await ImageRegistryFixture.CopyGoldenValueAsync(a.Reference, a.ManifestDigest, b.ManifestDigest);
        var copied = await Golden("verify", a.Reference, "--trust", pub);

        Assert.Equal(3, missing.ExitCode);
        Assert.Equal($"NOT verified: no golden value for {a.Reference} (tag sha256-{b.ManifestDigest[7..]}.golden not found)\n", missing.Stdout);
        Assert.Equal(3, copied.ExitCode);
        Assert.Equal($"NOT verified: manifest digest mismatch: golden value is for {a.ManifestDigest}, image is {b.ManifestDigest}\n", copied.Stdout);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Verify_Expired_ExitThree()
    {
        var (image, _, pub) = await PublishAsync("golden/expired", "--expires", "1s");
        await Task.Delay(TimeSpan.FromSeconds(2.1));

        var result = await Golden("verify", image.Reference, "--trust", pub);

        Assert.Equal(3, result.ExitCode);
        Assert.Matches(@"^NOT verified: expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$", result.Stdout);
    }

    [Fact]
    public async Task Verify_NoGoldenValue_ExitThreeExactMessage()
    {
        var image = await registry.PushAsync(registry.LayoutB, "golden/none", "v1");
        var (_, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "k");

        var result = await Golden("verify", image.Reference, "--trust", pub);
        var show = await Golden("show", image.Reference);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"NOT verified: no golden value for {image.Reference} (tag sha256-{image.ManifestDigest[7..]}.golden not found)\n", result.Stdout);
        Assert.Equal(1, show.ExitCode);
        Assert.Equal($"error: no golden value for {image.Reference} (tag sha256-{image.ManifestDigest[7..]}.golden not found)\n", show.Stderr);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Verify_RootfsChangedAfterUnpack_ExitThreeNamingRootfsDigest()
    {
        var (image, _, pub) = await PublishAsync("golden/rootfs");
        var bundle = _scratch["bundle"];
        var unpack = (await CliHarness.RunAsync("image", "unpack", image.Reference, bundle, "--data-dir", DataDir, "--json")).EnsureSuccess().Json;
        var rootfs = Path.Combine(bundle, "rootfs");
        var good = await Golden("verify", image.Reference, "--trust", pub, "--rootfs", rootfs);

        File.AppendAllText(Path.Combine(rootfs, "etc", "hello.txt"), "tampered\n");
        var tampered = (await CliHarness.RunAsync("image", "digest-rootfs", rootfs)).EnsureSuccess().Stdout.Trim();
        var bad = await Golden("verify", image.Reference, "--trust", pub, "--rootfs", rootfs);

        Assert.Equal(0, good.ExitCode);
        Assert.Contains($"rootfs:        {unpack.GetProperty("rootfs_digest").GetString()} matches\n", good.Stdout);
        Assert.Equal(3, bad.ExitCode);
        Assert.Equal($"NOT verified: rootfs digest mismatch: golden value has {unpack.GetProperty("rootfs_digest").GetString()}, unpacked rootfs has {tampered}\n", bad.Stdout);
    }

    [Theory]
    [InlineData("2020-01-01", "error: --expires 2020-01-01: 2020-01-01T00:00:00Z is not after now")]
    [InlineData("soon", "error: --expires 'soon' is neither a duration (30s, 12h, 90d) nor a date (2027-01-31T12:00:00Z)")]
    [InlineData("0d", "error: --expires 0d: the duration must be positive and under 100 years")]
    public async Task Publish_BadExpiry_ExitTwo(string expires, string expected)
    {
        var (priv, _) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "p");

        var result = await Golden("publish", registry.Busybox.Reference, "--key", priv, "--expires", expires);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith(expected, result.Stderr);
    }

    [Fact]
    public async Task Publish_KeyFileNotPem_ExitTwo()
    {
        var notKey = _scratch["not-a-key.pem"];
        File.WriteAllText(notKey, "hello\n");

        var result = await Golden("publish", registry.Busybox.Reference, "--key", notKey);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: --key {notKey}", result.Stderr);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("show")]
    public async Task Command_BadReference_ExitTwo(string command)
    {
        var (_, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "b");
        string[] args = command == "verify" ? ["verify", "no//slashes", "--trust", pub] : ["show", "no//slashes"];

        var result = await Golden(args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: image reference 'no//slashes'", result.Stderr);
    }
}
