using TrustLaunch.Measurement;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run --signature-policy</c>: containers-policy.json beside the golden value, both must pass; a policy
/// refusal ends as every refusal does (exit 3, <c>NOT verified: REASON</c>, one ImageRejected with that reason).
/// Signatures made by <c>trustlaunch image sign</c> (OpenPGP with a gpg-made key, and cosign). Real docker-registry,
/// real agent on swtpm, real crun.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ImageSignaturePolicyLaunchTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly GpgHome _gpg = new();
    private GpgKey _key = null!;

    public async Task InitializeAsync()
    {
        _key = await _gpg.CreateKeyAsync("publisher", "ed25519", _scratch.Path);
        Directory.CreateDirectory(RegistriesD);
        File.WriteAllText(Path.Combine(RegistriesD, "lookaside.yaml"),
            $"docker:\n  {registry.Host}:\n    lookaside: file://{_scratch["lookaside"]}\n    use-sigstore-attachments: true\n");
    }

    public async Task DisposeAsync()
    {
        await _gpg.DisposeAsync();
        _scratch.Dispose();
    }

    private string DataDir => _scratch["data"];
    private string RegistriesD => _scratch["registries.d"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    private async Task<(string Reference, string Digest, string Trust)> PublishAsync(string repository, bool golden = true)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "golden-" + repository.Replace('/', '-'));
        if (golden)
            (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (image.Reference, image.ManifestDigest, pub);
    }

    private string Policy(string requirement)
    {
        var path = _scratch[$"policy-{Guid.NewGuid():N}.json"];
        File.WriteAllText(path, $$"""{"default":[{"type":"reject"}],"transports":{"docker":{"{{registry.Host}}/signed":[{{requirement}}]} } }""");
        return path;
    }

    private string GpgPolicy() => Policy($$"""{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{_key.PublicPath}}"}""");

    private async Task<string> RefusedAsync(string reference, string digest, params string[] options)
    {
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        var run = await Tl("run", [reference, "--registries.d", RegistriesD, .. options]);
        Assert.Equal(3, run.ExitCode);
        var rejected = EventLine.Parse(Assert.Single(await agent.Deployment.ReadLogAsync(since)).Content);
        Assert.Equal((LaunchEvents.ImageRejected, digest), (rejected.Operation, rejected.Content.GetProperty("digest").GetString()));
        Assert.Equal(run.Stderr, $"NOT verified: {rejected.Content.GetProperty("reason").GetString()}\n");
        return run.Stderr;
    }

    private async Task RunsAsync(string reference, string name, params string[] options)
    {
        (await Tl("run", [reference, "--name", name, "--registries.d", RegistriesD, .. options, "--attach", "--", "/bin/busybox", "true"])).EnsureSuccess();
        (await Tl("rm", name)).EnsureSuccess();
    }

    [Fact]
    public async Task Run_GoldenValueButNoSignature_RefusedAsSkopeoWould_ThenSignedRuns()
    {
        var (reference, digest, trust) = await PublishAsync("signed/app");
        var policy = GpgPolicy();

        var refused = await RefusedAsync(reference, digest, "--trust", trust, "--signature-policy", policy);

        Assert.Equal($"NOT verified: signature policy {policy} (docker:{registry.Host}/signed): signedBy: {SignaturePolicyCheck.NoSignature}\n", refused);
        var sign = await CliHarness.RunAsync("image", "sign", reference, "--gpg-key", _key.SecretPath, "--registries.d", RegistriesD, "--data-dir", DataDir);
        sign.EnsureSuccess();
        Assert.Equal($"signed {reference} {digest} (simple-signing, {_key.Fingerprint}) -> {_scratch["lookaside"]}/signed/app@sha256={digest["sha256:".Length..]}/signature-1\n",
            sign.Stdout);
        await RunsAsync(reference, "signed", "--trust", trust, "--signature-policy", policy);
    }

    [Fact]
    public async Task Run_SignedButNoGoldenValue_RefusedByTheGoldenValue()
    {
        var (reference, digest, trust) = await PublishAsync("signed/nogolden", golden: false);
        (await CliHarness.RunAsync("image", "sign", reference, "--gpg-key", _key.SecretPath, "--registries.d", RegistriesD, "--data-dir", DataDir)).EnsureSuccess();

        var refused = await RefusedAsync(reference, digest, "--trust", trust, "--signature-policy", GpgPolicy());

        Assert.Equal($"NOT verified: no golden value for {reference} (tag sha256-{digest["sha256:".Length..]}.golden not found)\n", refused);
    }

    [Fact]
    public async Task Run_PolicyRejects_Refused()
    {
        var (reference, digest, trust) = await PublishAsync("rejected/app");
        var policy = GpgPolicy();
        var refused = await RefusedAsync(reference, digest, "--trust", trust, "--signature-policy", policy);
        Assert.Equal($"NOT verified: signature policy {policy} (default): reject: running image {reference} is rejected by policy\n", refused);
    }

    [Fact]
    public async Task Run_CosignSignedBySigstoreKey_Runs()
    {
        var (reference, digest, trust) = await PublishAsync("signed/cosign");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "cosign");
        var policy = Policy($$"""{"type":"sigstoreSigned","keyPath":"{{pub}}"}""");
        await RefusedAsync(reference, digest, "--trust", trust, "--signature-policy", policy);

        var sign = await CliHarness.RunAsync("image", "sign", reference, "--key", priv, "--data-dir", DataDir);

        sign.EnsureSuccess();
        Assert.EndsWith($" -> {registry.Host}/signed/cosign:sha256-{digest["sha256:".Length..]}.sig\n", sign.Stdout);
        await RunsAsync(reference, "cosigned", "--trust", trust, "--signature-policy", policy);
    }
}
