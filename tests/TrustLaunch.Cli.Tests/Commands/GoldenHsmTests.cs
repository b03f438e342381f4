using System.Security.Cryptography;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>golden publish --key pkcs11:…</c>: the golden value signed by a key in a real SoftHSM token.</summary>
public sealed class GoldenHsmTests(ImageRegistryFixture registry, SoftHsmFixture hsm)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<SoftHsmFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private Task<CliResult> Golden(params string[] args) => CliHarness.RunAsync(["golden", .. args, "--data-dir", _scratch["data"]]);

    /// <summary>Makes an EC P-256 key in the token; returns its URI (PIN from a file) and the public key PEM path.</summary>
    private async Task<(string Uri, string PublicPem)> HsmKeyAsync()
    {
        var pinFile = _scratch["pin"];
        await File.WriteAllTextAsync(pinFile, SoftHsmFixture.UserPinText + "\n");
        var label = "golden-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        string[] hsmArgs = ["hsm", "--token", hsm.TokenLabel, "--pin-file", pinFile];
        (await CliHarness.RunAsync([.. hsmArgs, "keygen", "--type", "ec:p256", "--label", label])).EnsureSuccess();
        var pub = _scratch["publisher.pub.pem"];
        await File.WriteAllTextAsync(pub, (await CliHarness.RunAsync([.. hsmArgs, "export", "--key", label])).EnsureSuccess().Stdout);
        return ($"pkcs11:token={hsm.TokenLabel};object={label};type=private?pin-source=file:{pinFile}", pub);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PublishWithHsmKey_VerifiedWithExportedKey_TamperedRefused()
    {
        var image = await registry.PushAsync(registry.LayoutA, "golden/hsm", "v1");
        var (uri, pub) = await HsmKeyAsync();

        var published = (await Golden("publish", image.Reference, "--key", uri, "--json")).EnsureSuccess().Json;
        var verified = await Golden("verify", image.Reference, "--trust", pub);

        Assert.Equal("ES256", published.GetProperty("algorithm").GetString());
        Assert.Equal(0, verified.ExitCode);
        Assert.StartsWith("verified\n", verified.Stdout);

        await ImageRegistryFixture.RewriteGoldenPayloadAsync(image.Reference, image.ManifestDigest, published.GetProperty("rootfs_digest").GetString()!, "sha256:" + new string('0', 64));
        var tampered = await Golden("verify", image.Reference, "--trust", pub);

        Assert.Equal(3, tampered.ExitCode);
        Assert.Equal("NOT verified: signature invalid\n", tampered.Stdout);
    }

    [Fact]
    public async Task Publish_Pkcs11KeyWithoutPin_ExitTwoNamingPinSources()
    {
        var result = await Golden("publish", registry.Busybox.Reference, "--key", "pkcs11:token=tl;object=golden");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: --key pkcs11:token=tl;object=golden: no PIN; add pin-source=FILE to the URI or set TRUSTLAUNCH_HSM_PIN\n", result.Stderr);
    }

    [Fact]
    public async Task Publish_Pkcs11KeyMissingFromToken_ExitOneWithHsmError()
    {
        var pinFile = _scratch["pin"];
        await File.WriteAllTextAsync(pinFile, SoftHsmFixture.UserPinText);

        var key = $"pkcs11:token={hsm.TokenLabel};object=absent;type=private?pin-source={pinFile}";

        var result = await Golden("publish", registry.Busybox.Reference, "--key", key);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: C_FindObjects failed: key not found: no private key matches pkcs11:token={hsm.TokenLabel};object=absent;type=private?pin-source=REDACTED on token '{hsm.TokenLabel}' " +
            "(logged in? private keys are only visible after login)\n", result.Stderr);
        Assert.DoesNotContain(pinFile, result.Stderr);
    }
}
