using System.Security.Cryptography;
using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// CRI PullImage judged by the verifier (<c>serve agent --cri-verifier URL</c>) under a policy whose
/// <c>golden_trust</c> requires the publisher and the store: the verifier decides, the node holds no keys. Real
/// registrar, agent and verifier processes; the endpoint presents the registered agent's certificate.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriTrustRemoteTests(ContainerdFixture containerd) : IAsyncLifetime
{
    private readonly VerifierFleet _fleet = new(1);
    private readonly ECDsa _storeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public Task InitializeAsync() => _fleet.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        _storeKey.Dispose();
    }

    [Fact]
    public async Task PullImage_VerifierRequiresPublisherAndStore_PublisherOnlyDeniedNamingTheStore_CountersignedPulled()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        using var publisher = node.Publisher();
        using var store = PemPayloadSigner.FromPem(_storeKey.ExportPkcs8PrivateKeyPem());
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "trust-remote");
        await CriGolden.PublishAsync(pushed.Reference, publisher);
        var name = ImageReference.Parse(pushed.Reference).Name;
        var verifier = await _fleet.StartVerifierAsync("cri-trust");
        var tenant = _fleet.Tenant(verifier);
        await tenant.AddPolicyAsync(new PolicyDocument("cri",
            new Dictionary<string, string> { [publisher.KeyId] = await File.ReadAllTextAsync(node.TrustFile), [store.KeyId] = _storeKey.ExportSubjectPublicKeyInfoPem() },
            [], [publisher.KeyId], [], LaunchPcr.Default, new Dictionary<int, string>(),
            GoldenTrust: JsonDocument.Parse($$"""{"repositories":{"{{name}}":{"all_of":["{{publisher.KeyId}}","{{store.KeyId}}"]} } }""").RootElement));
        var agentId = _fleet.Deployment.AgentId;
        await tenant.AddAgentAsync(new AddAgentRequest(agentId, "cri"));
        await Eventually.WaitAsync(async () => await tenant.GetAgentAsync(agentId) is { State: AgentStates.Attested } attested ? attested : null,
            () => "the agent never became Attested", TimeSpan.FromSeconds(60));
        using var asAgent = new ServiceHttpClientFactory(TlsIdentity.FromDirectory(_fleet.TlsDirectory, ServiceRoles.Agent))
            .Create(new Uri($"https://127.0.0.1:{verifier.AgentPort}/"), ServiceRoles.Verifier);
        await using var endpoint = await CriTrustEndpoint.StartAsync(node, new ImageJudgeOptions(agentId) { Verifier = asAgent });

        var denied = await Assert.ThrowsAsync<RpcException>(async () => await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));
        await CriTrustGolden.CountersignAsync(pushed.Reference, store);
        await endpoint.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });

        Assert.Equal((StatusCode.PermissionDenied,
                $"NOT verified: the verifier denied it: golden value refused by policy 'cri' v1: missing signature by {store.KeyId}, which the trust policy requires for {name} (all_of)"),
            (denied.StatusCode, denied.Status.Detail));
        Assert.Equal([LaunchEvents.ImageRejected, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], node.Events().Select(e => e.Operation));
        using var verified = JsonDocument.Parse(node.Events()[^1].Content);
        Assert.Equal("remote", verified.RootElement.GetProperty("mode").GetString());
        Assert.Equal([publisher.KeyId, store.KeyId], verified.RootElement.GetProperty("signers").EnumerateArray().Select(e => e.GetString()));
    }
}
