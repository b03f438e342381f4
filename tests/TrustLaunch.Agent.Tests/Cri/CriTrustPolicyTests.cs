using System.Security.Cryptography;
using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// CRI PullImage with the trust file, as <c>serve agent --cri-trust DIR --cri-trust-policy FILE</c> runs it: the
/// signer rules (<c>all_of</c>, <c>any_of</c>) and revocation by payload, the same refusals as <c>trustlaunch run</c>.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriTrustPolicyTests(ContainerdFixture containerd) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-cri-trust-").FullName;
    private readonly ECDsa _storeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _auditorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _storeKey.Dispose();
        _auditorKey.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private static PemPayloadSigner Signer(ECDsa key) => PemPayloadSigner.FromPem(key.ExportPkcs8PrivateKeyPem());

    /// <summary>The node's publisher, the store and the auditor, as a trusted keys directory.</summary>
    private string TrustDirectory(CriTestNode node)
    {
        var trust = Directory.CreateDirectory(Path.Combine(_work, "trusted")).FullName;
        File.Copy(node.TrustFile, Path.Combine(trust, "publisher.pem"), overwrite: true);
        File.WriteAllText(Path.Combine(trust, "store.pem"), _storeKey.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(Path.Combine(trust, "auditor.pem"), _auditorKey.ExportSubjectPublicKeyInfoPem());
        return trust;
    }

    private string TrustFile(string json)
    {
        var path = Path.Combine(_work, $"trust-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static async Task<RpcException> RefusedAsync(CriTrustEndpoint endpoint, string image) =>
        await Assert.ThrowsAsync<RpcException>(async () => await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

    private static string Signers(CriTestNode node) =>
        string.Join(',', JsonDocument.Parse(node.Events().Last(e => e.Operation == LaunchEvents.ImageVerified).Content).RootElement.GetProperty("signers").EnumerateArray().Select(e => e.GetString()));

    [Fact]
    public async Task PullImage_AllOfPublisherAndStore_PublisherOnlyRefusedNamingTheStore_AnyOfByTheAuditor_ThenPulledWithTheirSigners()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        using var publisher = node.Publisher();
        using var store = Signer(_storeKey);
        using var auditor = Signer(_auditorKey);
        var (bothImage, both, _) = await CriPods.PushImageAsync(containerd, "trust-allof");
        var (eitherImage, either, _) = await CriPods.PushImageAsync(containerd, "trust-anyof");
        await CriGolden.PublishAsync(both.Reference, publisher);
        await CriGolden.PublishAsync(either.Reference, publisher);
        var bothName = ImageReference.Parse(both.Reference).Name;
        var eitherName = ImageReference.Parse(either.Reference).Name;
        var policy = TrustFile($$"""
            { "repositories": {
                "{{bothName}}": { "all_of": ["{{publisher.KeyId}}", "{{store.KeyId}}"] },
                "{{eitherName}}": { "any_of": ["{{store.KeyId}}", "{{auditor.KeyId}}"] } } }
            """);
        await using var endpoint = await CriTrustEndpoint.StartAsync(node, new ImageJudgeOptions("cri-trust") { Trust = TrustDirectory(node), TrustPolicy = policy });

        var publisherOnly = await RefusedAsync(endpoint, bothImage);
        var neither = await RefusedAsync(endpoint, eitherImage);
        await CriTrustGolden.CountersignAsync(both.Reference, store);
        await CriTrustGolden.CountersignAsync(either.Reference, auditor);
        await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = bothImage } });
        var bothSigners = Signers(node);
        await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = eitherImage } });

        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: missing signature by {store.KeyId}, which the trust policy requires for {bothName} (all_of)"),
            (publisherOnly.StatusCode, publisherOnly.Status.Detail));
        Assert.Equal($"NOT verified: missing signature by any of {store.KeyId}, {auditor.KeyId}, one of which the trust policy requires for {eitherName} (any_of)", neither.Status.Detail);
        Assert.Equal([LaunchEvents.ImageRejected, LaunchEvents.ImageRejected, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified],
            node.Events().Select(e => e.Operation));
        Assert.Equal($"{publisher.KeyId},{store.KeyId}", bothSigners);
        Assert.Equal($"{publisher.KeyId},{auditor.KeyId}", Signers(node));
    }

    [Fact]
    public async Task PullImage_RevokedByPayloadThenServedUnderAMalleatedSignature_StillRefused()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        using var publisher = node.Publisher();
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "trust-revoked");
        await CriGolden.PublishAsync(pushed.Reference, publisher);
        var published = await CriTrustGolden.FetchAsync(pushed.Reference);
        var payload = TrustLaunch.Oci.Content.Digest.Sha256(Jose.Jws.Parse(published).Payload);
        var malleated = JwsMalleation.Malleated(published);
        await CriTrustGolden.ReplaceAsync(pushed.Reference, malleated);
        await using var endpoint = await CriTrustEndpoint.StartAsync(node,
            new ImageJudgeOptions("cri-trust") { Trust = node.TrustFile, TrustPolicy = TrustFile($$"""{ "revoked": ["{{payload}}"] }""") });

        var refused = await RefusedAsync(endpoint, image);

        Assert.Equal($"NOT verified: golden value {GoldenValue.JwsDigest(malleated)} is revoked by the trust policy: its payload {payload} is revoked", refused.Status.Detail);
        Assert.Equal([LaunchEvents.ImageRejected], node.Events().Select(e => e.Operation));
    }
}

/// <summary>The CRI endpoint's judge refuses at start a trust file whose signer rules name a key it does not trust.</summary>
public sealed class CriTrustPolicyLoadTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-cri-trust-load-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void Create_AllOfNamesAKeyThatIsNotTrusted_RefusedNamingIt()
    {
        using var publisher = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var trust = Path.Combine(_work, "publisher.pem");
        File.WriteAllText(trust, publisher.ExportSubjectPublicKeyInfoPem());
        using var strangerSigner = PemPayloadSigner.FromPem(stranger.ExportPkcs8PrivateKeyPem());
        var policy = Path.Combine(_work, "trust.json");
        File.WriteAllText(policy, $$"""{ "repositories": { "registry.example/app": { "all_of": ["{{strangerSigner.KeyId}}"] } } }""");

        var refused = Assert.Throws<FormatException>(() => ImageJudges.Create(new ImageJudgeOptions("node") { Trust = trust, TrustPolicy = policy }));

        Assert.Equal($"trust policy {policy}: repositories.\"registry.example/app\".all_of: key {strangerSigner.KeyId} is not one of the trusted publisher keys, so no signature by it is ever checked",
            refused.Message);
    }
}
