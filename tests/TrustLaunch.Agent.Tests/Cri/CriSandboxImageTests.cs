using System.Security.Cryptography;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// The sandbox (pause) image, which containerd pulls itself outside PullImage: judged before RunPodSandbox is
/// forwarded, whether containerd holds it already or not.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriSandboxImageTests(ContainerdFixture containerd)
{
    private const string SandboxImage = ContainerdFixture.SandboxImage;

    [Fact]
    public async Task RunPodSandbox_SandboxImageHeldByContainerdOfAnUntrustedPublisher_NotVerifiedAndNoSandbox()
    {
        await using var node = await CriTestNode.StartAsync(containerd, trustSandboxImage: false);
        using var stranger = await PublishSandboxImageByAStrangerAsync();
        var sandbox = CriPods.Sandbox("untrusted-pause-0", Path.Combine(node.Directory, "pods"));

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox }));

        var reason = $"sandbox image {SandboxImage}: untrusted publisher key {stranger.KeyId}";
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal($"NOT verified: {reason}", refused.Status.Detail);
        var rejected = Assert.Single(node.Events());
        Assert.Equal((LaunchEvents.ImageRejected, $"{{\"digest\":\"\",\"image\":\"{SandboxImage}\",\"reason\":\"{reason}\"}}"), rejected);
        Assert.DoesNotContain((await node.Direct.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest())).Items, p => p.Metadata.Uid == sandbox.Metadata.Uid);
    }

    [Fact]
    public async Task RunPodSandbox_SandboxImageNotHeldOfAnUntrustedPublisher_RefusedBeforeContainerdPullsIt()
    {
        await using var node = await CriTestNode.StartAsync(containerd, trustSandboxImage: false);
        using var stranger = await PublishSandboxImageByAStrangerAsync();
        await RemoveSandboxImageAsync(node);
        var sandbox = CriPods.Sandbox("unpulled-pause-0", Path.Combine(node.Directory, "pods"));
        try
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox }));

            var reason = $"sandbox image {SandboxImage}: untrusted publisher key {stranger.KeyId}";
            Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {reason}"), (refused.StatusCode, refused.Status.Detail));
            var rejected = Assert.Single(node.Events());
            Assert.Equal((LaunchEvents.ImageRejected, $"{{\"digest\":\"{containerd.SandboxImagePushed.ManifestDigest}\",\"image\":\"{SandboxImage}\",\"reason\":\"{reason}\"}}"),
                rejected);
            Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = SandboxImage } })).Image);
            Assert.DoesNotContain((await node.Direct.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest())).Items, p => p.Metadata.Uid == sandbox.Metadata.Uid);
        }
        finally
        {
            await containerd.PullSandboxImageAsync();
        }
    }

    [Fact]
    public async Task RunPodSandbox_SandboxImageNotHeld_JudgedThenPulledUnderItsTagThenThePodRuns()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        await RemoveSandboxImageAsync(node);
        var sandbox = CriPods.Sandbox("pulled-pause-0", Path.Combine(node.Directory, "pods"));

        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var stored = (await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = SandboxImage } })).Image;
        await node.Kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await node.Kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });

        var digest = containerd.SandboxImagePushed.ManifestDigest;
        Assert.Contains(SandboxImage, stored.RepoTags);
        Assert.Contains($"registry.k8s.io/pause@{digest}", stored.RepoDigests);
        var events = node.Events();
        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated], events.Take(3).Select(e => e.Operation));
        Assert.Equal($"{{\"digest\":\"{digest}\",\"image\":\"{SandboxImage}\"}}", events[0].Content);
        Assert.Contains($"\"digest\":\"{digest}\"", events[1].Content);
    }

    /// <summary>The sandbox image's golden value replaced by one a key no node trusts signed; the signer, for its key id.</summary>
    private async Task<PemPayloadSigner> PublishSandboxImageByAStrangerAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signer = PemPayloadSigner.FromPem(key.ExportPkcs8PrivateKeyPem());
        await CriGolden.PublishAsync(containerd.SandboxImagePushed.Reference, signer);
        return signer;
    }

    private static async Task RemoveSandboxImageAsync(CriTestNode node) =>
        await node.Direct.Images.RemoveImageAsync(new RemoveImageRequest { Image = new ImageSpec { Image = SandboxImage } });
}
