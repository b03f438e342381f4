using System.Text;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Golden values of images encrypted only for the <c>trustlaunch</c> key provider: <c>golden publish ENCRYPTED
/// --plain-image PLAIN</c> measures the image it was encrypted from (the publisher holds no layer key and no kbs-admin
/// credentials) and signs the encrypted manifest's digest; a launch through the broker is judged by it.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GoldenProviderEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IDisposable
{
    private const string Kid = "kbs:///default/key/golden-provider";
    private const string FilePath = "/etc/golden-provider.txt";

    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("tl-golden-provider-").FullName;

    private FleetNode Attested => stack.Nodes[0];

    private string DataDir => Path.Combine(_directory, "data");

    public void Dispose() => LaunchDirectories.Remove(_directory);

    private static Task<ProcessResult> CliAsync(params string[] arguments) => KbsBrokerStack.CliAsync(arguments);

    private async Task<(string Plain, string Encrypted)> ProviderOnlyImageAsync(string tag, string content)
    {
        var plain = await TestImages.BuildAndPushAsync(registry, "golden-provider/plain", tag, new Dictionary<string, byte[]> { [FilePath] = Encoding.UTF8.GetBytes(content) });
        var encrypted = $"{registry.Host}/golden-provider/app:{tag}";
        (await CliAsync("image", "encrypt", plain.Reference, encrypted, "--recipient", $"provider:trustlaunch:{Kid}",
            "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory, "--data-dir", Path.Combine(_directory, "encrypt"))).EnsureSuccess("image encrypt");
        return (plain.Reference, encrypted);
    }

    private Task<ProcessResult> PublishAsync(string reference, params string[] options) =>
        CliAsync(["golden", "publish", reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(_directory, "publish"), .. options]);

    private Task<ProcessResult> RunAsync(string reference, string name, params string[] command) =>
        CliAsync(["run", reference, "--data-dir", DataDir, "--agent-socket", KbsBrokerStack.SocketOf(Attested), "--trust", stack.PublisherPublicKey,
            "--name", name, "--attach", "--", .. command]);

    private static string ManifestDigest(ProcessResult published) =>
        published.StandardOutput.Split('\n').Single(l => l.StartsWith("image:", StringComparison.Ordinal)).Split(' ')[^1];

    [Fact]
    public async Task Publish_PlainImageCarriedOver_ProviderEncryptedImageRunsJudgedByIt()
    {
        var content = "carried over " + Guid.NewGuid().ToString("N");
        var (plain, encrypted) = await ProviderOnlyImageAsync("v1", content);

        var published = (await PublishAsync(encrypted, "--plain-image", plain)).EnsureSuccess("golden publish --plain-image");
        var run = await RunAsync(encrypted, "golden-provider", "/bin/busybox", "cat", FilePath);

        var encryptedManifest = await RegistryManifests.GetAsync(registry.Host, "golden-provider/app", "v1");
        Assert.All(encryptedManifest["layers"]!.AsArray(), l => Assert.True(l!["annotations"]!.AsObject().ContainsKey(RegistryManifests.ProviderAnnotation)));
        var (manifestDigest, _) = await RegistryManifests.DigestAsync(registry.Host, "golden-provider/app", "v1");
        Assert.Equal(manifestDigest, ManifestDigest(published));
        Assert.Equal((0, content, ""), (run.ExitCode, run.StandardOutput, run.StandardError));
        (await CliAsync("rm", "golden-provider", "--data-dir", DataDir, "--agent-socket", KbsBrokerStack.SocketOf(Attested))).EnsureSuccess("rm");
    }

    [Fact]
    public async Task Publish_ProviderOnlyImageWithoutPlainImage_RefusedWithTheWayOut()
    {
        var (_, encrypted) = await ProviderOnlyImageAsync("no-plain", "x");
        var layer = (string)(await RegistryManifests.GetAsync(registry.Host, "golden-provider/app", "no-plain"))["layers"]![0]!["digest"]!;

        var refused = await PublishAsync(encrypted);

        Assert.Equal((2, $"error: layer {layer} of {encrypted} is encrypted only for key provider trustlaunch: measure the image it was encrypted from with --plain-image PLAIN_REF"),
            (refused.ExitCode, refused.StandardError.Trim()));
    }

    [Fact]
    public async Task Publish_PlainImageOfAnotherImage_RefusedNothingPublished()
    {
        var (_, encrypted) = await ProviderOnlyImageAsync("other", "the encrypted one");
        var (otherPlain, _) = await ProviderOnlyImageAsync("other-source", "another image");
        var encryptedConfig = (string)(await RegistryManifests.GetAsync(registry.Host, "golden-provider/app", "other"))["config"]!["digest"]!;
        var otherConfig = (string)(await RegistryManifests.GetAsync(registry.Host, "golden-provider/plain", "other-source"))["config"]!["digest"]!;

        var refused = await PublishAsync(encrypted, "--plain-image", otherPlain);

        Assert.Equal((1, $"error: image {encrypted} has config {encryptedConfig}, --plain-image {otherPlain} has {otherConfig}: it was not encrypted from that image"),
            (refused.ExitCode, refused.StandardError.Trim()));
    }

    [Fact]
    public async Task Run_GoldenValueOfAnotherEncryptedImage_RefusedNotVerified()
    {
        var (plain, encrypted) = await ProviderOnlyImageAsync("judged", "judged");
        var (_, other) = await ProviderOnlyImageAsync("unpublished", "never published");
        (await PublishAsync(encrypted, "--plain-image", plain)).EnsureSuccess("golden publish --plain-image");
        var (published, _) = await RegistryManifests.DigestAsync(registry.Host, "golden-provider/app", "judged");
        var (target, _) = await RegistryManifests.DigestAsync(registry.Host, "golden-provider/app", "unpublished");
        // The golden artifact of one image put where a launch of the other looks for its own.
        var artifact = await RegistryManifests.GetAsync(registry.Host, "golden-provider/app", "sha256-" + published["sha256:".Length..] + ".golden");
        await RegistryManifests.PutAsync(registry.Host, "golden-provider/app", "sha256-" + target["sha256:".Length..] + ".golden", artifact);
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var run = await RunAsync(other, "golden-provider-other", "/bin/busybox", "true");

        Assert.Equal((3, $"NOT verified: manifest digest mismatch: golden value is for {published}, image is {target}"), (run.ExitCode, run.StandardError.Trim()));
        var operations = (await stack.ReadLogAsync(Attested)).Skip(before).Select(r => r.Content.Split(' ')[1]).ToList();
        Assert.Equal([LaunchEvents.ImageRejected], operations);
    }
}
