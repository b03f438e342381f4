using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Images signed by real skopeo 1.9 (<c>copy --sign-by</c>, simple signing in a file lookaside named by
/// registries.d) launched by <c>trustlaunch run --signature-policy</c>, and ours (<c>image sign --gpg-key</c>)
/// checked by skopeo's own policy. Keys made by gpg here; real docker-registry, agent on swtpm, crun.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunSkopeoSignatureTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly GpgHome _gpg = new();
    private GpgKey _trusted = null!;
    private GpgKey _other = null!;
    private string _goldenKey = "";
    private string _trust = "";

    private string RegistriesD => _scratch["registries.d"];
    private string Lookaside => _scratch["lookaside"];

    public async Task InitializeAsync()
    {
        _trusted = await _gpg.CreateKeyAsync("trusted", "ed25519", _scratch.Path);
        _other = await _gpg.CreateKeyAsync("other", "ed25519", _scratch.Path);
        Directory.CreateDirectory(RegistriesD);
        File.WriteAllText(Path.Combine(RegistriesD, "lookaside.yaml"), $"docker:\n  {registry.Host}:\n    lookaside: file://{Lookaside}\n");
        (_goldenKey, _trust) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "golden");
    }

    public async Task DisposeAsync()
    {
        await _gpg.DisposeAsync();
        _scratch.Dispose();
    }

    private string Policy()
    {
        var path = _scratch[$"policy-{Guid.NewGuid():N}.json"];
        File.WriteAllText(path, $$"""
            {"default":[{"type":"reject"}],
             "transports":{"docker":{"{{registry.Host}}/skopeo":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{_trusted.PublicPath}}"}]} } }
            """);
        return path;
    }

    /// <summary>skopeo pushes image A as <c>skopeo/NAME:v1</c>, signing with <paramref name="key"/> when given; the golden value is published too.</summary>
    private async Task<(string Reference, string Digest)> PushAsync(string name, GpgKey? key)
    {
        var reference = $"{registry.Host}/skopeo/{name}:v1";
        var digestFile = _scratch[name + ".digest"];
        string[] sign = key is null ? [] : ["--sign-by", key.Fingerprint];
        (await ProcessRunner.RunAsync("skopeo", ["--insecure-policy", "--registries.d", RegistriesD, "copy", "--quiet", "--dest-tls-verify=false", .. sign,
            "--digestfile", digestFile, $"oci:{registry.LayoutA}:t", $"docker://{reference}"], _gpg.Environment, timeout: TimeSpan.FromMinutes(2))).EnsureSuccess("skopeo copy");
        (await CliHarness.RunAsync("golden", "publish", reference, "--key", _goldenKey, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return (reference, File.ReadAllText(digestFile).Trim());
    }

    private Task<CliResult> RunAsync(string reference, string policy, params string[] more) =>
        CliHarness.RunAsync(["run", "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath, reference, "--trust", _trust,
            "--signature-policy", policy, "--registries.d", RegistriesD, .. more]);

    /// <summary>Refused with exit 3 and <c>NOT verified: REASON</c>, one ImageRejected with that reason measured; returns the reason.</summary>
    private async Task<string> RefusedAsync(string reference, string digest, string policy)
    {
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        var run = await RunAsync(reference, policy);
        Assert.Equal(3, run.ExitCode);
        var rejected = EventLine.Parse(Assert.Single(await agent.Deployment.ReadLogAsync(since)).Content);
        Assert.Equal((LaunchEvents.ImageRejected, digest), (rejected.Operation, rejected.Content.GetProperty("digest").GetString()));
        var reason = rejected.Content.GetProperty("reason").GetString()!;
        Assert.Equal($"NOT verified: {reason}\n", run.Stderr);
        return reason;
    }

    [Fact]
    public async Task Run_SkopeoSignedWithTheRequiredKey_Runs()
    {
        var (reference, _) = await PushAsync("signed", _trusted);

        var run = await RunAsync(reference, Policy(), "--name", "skopeo-signed", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");

        Assert.Equal((0, "hello from image A\n"), (run.ExitCode, run.Stdout));
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath, "skopeo-signed")).EnsureSuccess();
    }

    [Fact]
    public async Task Run_SkopeoSignedByAnotherKey_RefusedNamingTheKey()
    {
        var (reference, digest) = await PushAsync("other-key", _other);
        var policy = Policy();

        Assert.Equal($"signature policy {policy} (docker:{registry.Host}/skopeo): signedBy: signed by key {_other.Fingerprint[^16..]}, which is not among the trusted keys",
            await RefusedAsync(reference, digest, policy));
    }

    [Fact]
    public async Task Run_SkopeoSignatureOfAnotherRepository_Refused()
    {
        var (_, digest) = await PushAsync("original", _trusted);
        var (copy, _) = await PushAsync("copy", null);
        // The original's valid signature beside the copy (the same manifest) in the lookaside: it names the original.
        var hex = digest["sha256:".Length..];
        var target = Directory.CreateDirectory(Path.Combine(Lookaside, $"skopeo/copy@sha256={hex}")).FullName;
        File.Copy(Path.Combine(Lookaside, $"skopeo/original@sha256={hex}", "signature-1"), Path.Combine(target, "signature-1"));
        var policy = Policy();

        Assert.Equal($"signature policy {policy} (docker:{registry.Host}/skopeo): signedBy: signature by {_trusted.Fingerprint}: signature names {registry.Host}/skopeo/original:v1, not {copy}",
            await RefusedAsync(copy, digest, policy));
    }

    [Fact]
    public async Task ImageSign_OurSignatureAcceptedBySkopeosPolicy_UnsignedRejected()
    {
        var (signed, _) = await PushAsync("ours", null);
        var unsigned = (await registry.PushAsync(registry.LayoutB, "skopeo/unsigned", "v1")).Reference;
        (await CliHarness.RunAsync("image", "sign", signed, "--gpg-key", _trusted.SecretPath, "--registries.d", RegistriesD, "--data-dir", _scratch["data"])).EnsureSuccess();
        var policy = Policy();

        Task<ProcessResult> SkopeoCopyAsync(string reference) => ProcessRunner.RunAsync("skopeo", ["--policy", policy, "--registries.d", RegistriesD, "copy", "--quiet",
            "--src-tls-verify=false", $"docker://{reference}", $"dir:{Directory.CreateTempSubdirectory("trustlaunch-skopeo-out-").FullName}"], _gpg.Environment, timeout: TimeSpan.FromMinutes(2));
        var accepted = await SkopeoCopyAsync(signed);
        var rejected = await SkopeoCopyAsync(unsigned);

        Assert.Equal(0, accepted.ExitCode);
        Assert.NotEqual(0, rejected.ExitCode);
        Assert.Contains("A signature was required, but no signature exists", rejected.StandardError);
    }
}
