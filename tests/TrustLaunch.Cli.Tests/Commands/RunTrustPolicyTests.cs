using System.Globalization;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// A golden value counts only where it was published (its signed reference names the image's registry and
/// repository) unless <c>--trust-policy</c> allows a mirror; the policy also refuses golden values older than a
/// repository's minimum (rollback) and revoked ones. Real docker-registry, real agent on swtpm, real crun.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunTrustPolicyTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    private async Task<(string Reference, string Digest, string Private, string Public)> PublishAsync(string repository)
    {
        var image = await registry.PushAsync(registry.LayoutA, repository, "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-" + repository.Replace('/', '-'));
        await RepublishAsync(image.Reference, priv);
        return (image.Reference, image.ManifestDigest, priv, pub);
    }

    private async Task<string> RepublishAsync(string reference, string key)
    {
        (await CliHarness.RunAsync("golden", "publish", reference, "--key", key, "--data-dir", _scratch["publish"])).EnsureSuccess();
        return await CraftedImages.FetchGoldenAsync(reference);
    }

    private string Policy(string json)
    {
        var path = _scratch["policy-" + Guid.NewGuid().ToString("N")[..8] + ".json"];
        File.WriteAllText(path, json);
        return path;
    }

    private async Task<string> RefusedAsync(string reference, string digest, params string[] options)
    {
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        var run = await Tl("run", [reference, .. options]);
        Assert.Equal(3, run.ExitCode);
        var rejected = EventLine.Parse(Assert.Single(await agent.Deployment.ReadLogAsync(since)).Content);
        Assert.Equal((LaunchEvents.ImageRejected, digest), (rejected.Operation, rejected.Content.GetProperty("digest").GetString()));
        Assert.Equal(run.Stderr, $"NOT verified: {rejected.Content.GetProperty("reason").GetString()}\n");
        return run.Stderr;
    }

    private async Task RunsAsync(string reference, string name, params string[] options)
    {
        (await Tl("run", [reference, "--name", name, .. options, "--attach", "--", "/bin/busybox", "true"])).EnsureSuccess();
        (await Tl("rm", name)).EnsureSuccess();
    }

    private static string Utc(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static GoldenValue Payload(string jws) => GoldenValue.ParsePayload(Jws.Parse(jws).Payload);

    [Fact]
    public async Task Run_GoldenValuePublishedForAnotherRepository_RefusedUnlessThePolicyAllowsThatMirror()
    {
        var (origin, digest, _, trusted) = await PublishAsync("bind/origin");
        var mirror = (await registry.PushAsync(registry.LayoutA, "bind/mirror", "v1")).Reference;
        using (var client = new RegistryClient())
        {
            var subject = await client.GetManifestAsync(ImageReference.Parse(mirror));
            await CraftedImages.PushGoldenAsync(mirror, subject, await CraftedImages.FetchGoldenAsync(origin));
        }
        var originName = ImageReference.Parse(origin).Name;
        var mirrorName = ImageReference.Parse(mirror).Name;

        var refused = await RefusedAsync(mirror, digest, "--trust", trusted);

        Assert.Equal($"NOT verified: golden value was published for {originName}, not {mirrorName} (a trust policy may allow it: repositories.\"{mirrorName}\".golden_from)\n", refused);
        var allowed = Policy($$"""{ "repositories": { "{{mirrorName}}": { "golden_from": ["{{originName}}"] } } }""");
        await RunsAsync(mirror, "mirrored", "--trust", trusted, "--trust-policy", allowed);
        var otherRule = Policy($$"""{ "repositories": { "{{originName}}": { "golden_from": ["{{mirrorName}}"] } } }""");
        await RefusedAsync(mirror, digest, "--trust", trusted, "--trust-policy", otherRule);
    }

    [Fact]
    public async Task Run_OlderGoldenValuePushedBack_RefusedByTheRepositorysMinimumIssueTime()
    {
        var (reference, digest, key, trusted) = await PublishAsync("rollback/app");
        var old = await CraftedImages.FetchGoldenAsync(reference);
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var current = await RepublishAsync(reference, key);
        var name = ImageReference.Parse(reference).Name;
        var minimum = Utc(Payload(current).Created);
        var policy = Policy($$"""{ "repositories": { "{{name}}": { "min_created": "{{minimum}}" } } }""");
        await RunsAsync(reference, "current", "--trust", trusted, "--trust-policy", policy);
        using (var client = new RegistryClient())
            await CraftedImages.PushGoldenAsync(reference, await client.GetManifestAsync(ImageReference.Parse(reference)), old);

        var refused = await RefusedAsync(reference, digest, "--trust", trusted, "--trust-policy", policy);

        Assert.Equal($"NOT verified: golden value created {Utc(Payload(old).Created)} is older than {minimum}, the oldest the trust policy accepts for {name}\n", refused);
    }

    [Fact]
    public async Task Run_RevokedGoldenValue_Refused()
    {
        var (reference, digest, _, trusted) = await PublishAsync("revoke/app");
        var golden = CraftedImages.GoldenDigest(await CraftedImages.FetchGoldenAsync(reference));
        var policy = Policy($$"""{ "revoked": ["{{golden}}"] }""");

        var refused = await RefusedAsync(reference, digest, "--trust", trusted, "--trust-policy", policy);

        Assert.Equal($"NOT verified: golden value {golden} is revoked by the trust policy\n", refused);
    }

    [Fact]
    public async Task Run_PublisherAndStoreRequired_RefusedNamingTheStoreUntilCountersignedThenSignersMeasured()
    {
        var (reference, digest, _, publisherPub) = await PublishAsync("countersign/app");
        var (storePriv, storePub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "store");
        var trust = _scratch["trusted"];
        Directory.CreateDirectory(trust);
        File.Copy(publisherPub, Path.Combine(trust, "publisher.pem"));
        File.Copy(storePub, Path.Combine(trust, "store.pem"));
        string publisher, store;
        using (var p = Oci.Signing.PemPayloadVerifier.FromFile(publisherPub))
            publisher = p.KeyId;
        using (var s = Oci.Signing.PemPayloadVerifier.FromFile(storePub))
            store = s.KeyId;
        var name = ImageReference.Parse(reference).Name;
        var policy = Policy($$"""{ "repositories": { "{{name}}": { "all_of": ["{{publisher}}", "{{store}}"] } } }""");

        var refused = await RefusedAsync(reference, digest, "--trust", trust, "--trust-policy", policy);
        (await CliHarness.RunAsync("golden", "countersign", reference, "--key", storePriv)).EnsureSuccess();
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        await RunsAsync(reference, "countersigned", "--trust", trust, "--trust-policy", policy);

        Assert.Equal($"NOT verified: missing signature by {store}, which the trust policy requires for {name} (all_of)\n", refused);
        var verified = (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).First(e => e.Operation == LaunchEvents.ImageVerified);
        Assert.Equal([publisher, store], verified.Content.GetProperty("signers").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>A directory trusting the publisher of <paramref name="publisherPub"/> and new keys named <paramref name="others"/>; their (private key, key id).</summary>
    private (string Directory, string Publisher, IReadOnlyList<(string Private, string KeyId)> Others) TrustDirectory(string name, string publisherPub, params string[] others)
    {
        var trust = _scratch[name];
        Directory.CreateDirectory(trust);
        File.Copy(publisherPub, Path.Combine(trust, "publisher.pem"));
        var made = new List<(string, string)>();
        foreach (var other in others)
        {
            var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, $"{name}-{other}");
            File.Copy(pub, Path.Combine(trust, other + ".pem"));
            made.Add((priv, KeyId(pub)));
        }
        return (trust, KeyId(publisherPub), made);
    }

    private static string KeyId(string publicPem)
    {
        using var key = Oci.Signing.PemPayloadVerifier.FromFile(publicPem);
        return key.KeyId;
    }

    [Fact]
    public async Task Run_AnyOfStoreOrAuditor_RefusedWithNeitherThenTheAuditorsCountersignatureSuffices()
    {
        var (reference, digest, _, publisherPub) = await PublishAsync("anyof/app");
        var (trust, _, others) = TrustDirectory("trusted-anyof", publisherPub, "store", "auditor");
        var name = ImageReference.Parse(reference).Name;
        var policy = Policy($$"""{ "repositories": { "{{name}}": { "any_of": ["{{others[0].KeyId}}", "{{others[1].KeyId}}"] } } }""");

        var refused = await RefusedAsync(reference, digest, "--trust", trust, "--trust-policy", policy);
        (await CliHarness.RunAsync("golden", "countersign", reference, "--key", others[1].Private)).EnsureSuccess();
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        await RunsAsync(reference, "auditor-countersigned", "--trust", trust, "--trust-policy", policy);

        Assert.Equal($"NOT verified: missing signature by any of {others[0].KeyId}, {others[1].KeyId}, one of which the trust policy requires for {name} (any_of)\n", refused);
        var verified = (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).First(e => e.Operation == LaunchEvents.ImageVerified);
        Assert.Equal([KeyId(publisherPub), others[1].KeyId], verified.Content.GetProperty("signers").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Run_AllOfNamesAKeyThatIsNotTrusted_UsageErrorNothingMeasured()
    {
        var (reference, _, _, trusted) = await PublishAsync("allof/untrusted");
        var (_, stranger) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "stranger");
        var name = ImageReference.Parse(reference).Name;
        var policy = Policy($$"""{ "repositories": { "{{name}}": { "all_of": ["{{KeyId(trusted)}}", "{{KeyId(stranger)}}"] } } }""");
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;

        var run = await Tl("run", reference, "--trust", trusted, "--trust-policy", policy);

        Assert.Equal((2, $"error: --trust-policy: trust policy {policy}: repositories.\"{name}\".all_of: key {KeyId(stranger)} is not one of the trusted publisher keys, so no signature by it is ever checked\n"),
            (run.ExitCode, run.Stderr));
        Assert.Empty(await agent.Deployment.ReadLogAsync(since));
    }

    [Fact]
    public async Task Run_RevokedByPayloadThenServedUnderAMalleatedSignature_StillRefused()
    {
        var (reference, digest, _, trusted) = await PublishAsync("revoke/payload");
        var payload = (await CliHarness.RunAsync("golden", "show", reference, "--json")).EnsureSuccess().Json.GetProperty("payload").GetString();
        var policy = Policy($$"""{ "revoked": ["{{payload}}"] }""");
        var malleated = TrustLaunch.Testing.JwsMalleation.Malleated(await CraftedImages.FetchGoldenAsync(reference));
        using (var client = new RegistryClient())
            await CraftedImages.PushGoldenAsync(reference, await client.GetManifestAsync(ImageReference.Parse(reference)), malleated);

        var refused = await RefusedAsync(reference, digest, "--trust", trusted, "--trust-policy", policy);

        Assert.Equal($"NOT verified: golden value {CraftedImages.GoldenDigest(malleated)} is revoked by the trust policy: its payload {payload} is revoked\n", refused);
    }

    [Fact]
    public async Task Run_MalformedTrustPolicy_UsageErrorNothingMeasured()
    {
        var (reference, _, _, trusted) = await PublishAsync("policy/malformed");
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        var policy = Policy("""{ "repositories": { "a/b:v1": {} } }""");

        var run = await Tl("run", reference, "--trust", trusted, "--trust-policy", policy);

        Assert.Equal((2, $"error: --trust-policy: trust policy {policy}: repositories: 'a/b:v1' names a tag or digest; give HOST/REPOSITORY only\n"), (run.ExitCode, run.Stderr));
        Assert.Empty(await agent.Deployment.ReadLogAsync(since));
    }
}
