using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>What the CRI endpoint refuses, the exact error kubelet gets, and what the log then holds.</summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriRefusalTests(ContainerdFixture containerd)
{
    private static string GoldenTag(string manifest) => $"{Digest.Parse(manifest).Algorithm}-{Digest.Parse(manifest).Hex}.golden";

    [Fact]
    public async Task PullImage_NoGoldenValue_NotVerifiedRejectedAndNotPulled()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-nogolden");

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var reason = $"no golden value for {pushed.Reference} (tag {GoldenTag(pushed.ManifestDigest)} not found)";
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal($"NOT verified: {reason}", refused.Status.Detail);
        var rejected = Assert.Single(node.Events());
        Assert.Equal(LaunchEvents.ImageRejected, rejected.Operation);
        Assert.Equal($"{{\"digest\":\"{pushed.ManifestDigest}\",\"image\":\"{image}\",\"reason\":\"{reason}\"}}", rejected.Content);
        Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = $"docker.io/library/app-nogolden@{pushed.ManifestDigest}" } })).Image);
    }

    [Fact]
    public async Task PullImage_GoldenValueOfAnUntrustedPublisher_NotVerified()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-untrusted");
        using var stranger = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var signer = Oci.Signing.PemPayloadSigner.FromPem(stranger.ExportPkcs8PrivateKeyPem());
        await CriGolden.PublishAsync(pushed.Reference, signer);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var reason = $"untrusted publisher key {signer.KeyId}";
        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {reason}"), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal([(LaunchEvents.ImageRejected, $"{{\"digest\":\"{pushed.ManifestDigest}\",\"image\":\"{image}\",\"reason\":\"{reason}\"}}")], node.Events());
        Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = $"docker.io/library/app-untrusted@{pushed.ManifestDigest}" } })).Image);
    }

    [Fact]
    public async Task PullImage_TagMovedToAnotherImage_NoGoldenValueThenManifestMismatchWithTheOldGoldenValueCopied()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, first, _) = await CriPods.PushImageAsync(containerd, "app-moved");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(first.Reference, publisher);
        var (_, moved, _) = await CriPods.PushImageAsync(containerd, "app-moved");

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));
        // An attacker also copies the first image's golden value onto the moved one's golden tag.
        using (var registry = new RegistryClient())
        {
            var artifact = await registry.GetManifestAsync(ImageReference.Parse(first.Reference).WithTag(GoldenTag(first.ManifestDigest)));
            await registry.PushManifestAsync(ImageReference.Parse(first.Reference).WithTag(GoldenTag(moved.ManifestDigest)), artifact.Bytes, MediaTypes.OciManifest);
        }
        var copied = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var noGolden = $"no golden value for {moved.Reference} (tag {GoldenTag(moved.ManifestDigest)} not found)";
        var mismatch = $"manifest digest mismatch: golden value is for {first.ManifestDigest}, image is {moved.ManifestDigest}";
        Assert.NotEqual(first.ManifestDigest, moved.ManifestDigest);
        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {noGolden}"), (missing.StatusCode, missing.Status.Detail));
        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {mismatch}"), (copied.StatusCode, copied.Status.Detail));
        Assert.Equal(
        [
            (LaunchEvents.ImageRejected, $"{{\"digest\":\"{moved.ManifestDigest}\",\"image\":\"{image}\",\"reason\":\"{noGolden}\"}}"),
            (LaunchEvents.ImageRejected, $"{{\"digest\":\"{moved.ManifestDigest}\",\"image\":\"{image}\",\"reason\":\"{mismatch}\"}}"),
        ], node.Events());
        Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = $"docker.io/library/app-moved@{moved.ManifestDigest}" } })).Image);
    }

    [Fact]
    public async Task PullImage_TagMovedAfterAVerifiedPull_TheNewImageJudgedAndRefused()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, first, _) = await CriPods.PushImageAsync(containerd, "app-moved-later");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(first.Reference, publisher);
        await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        var (_, moved, _) = await CriPods.PushImageAsync(containerd, "app-moved-later");

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var reason = $"no golden value for {moved.Reference} (tag {GoldenTag(moved.ManifestDigest)} not found)";
        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {reason}"), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImageRejected],
            node.Events().Select(e => e.Operation));
        Assert.Equal(node.Events()[1], node.Events()[3]);
    }

    [Fact]
    public async Task CreateContainer_ImagePulledPastTheEndpointWithoutGoldenValue_RefusedAndNothingCreated()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-past");
        var pulled = await node.Direct.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
        var sandbox = CriPods.Sandbox("past-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        try
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60")));

            var reason = $"no golden value for {containerd.Registry.Host}/library/app-past@{pushed.ManifestDigest} (tag {GoldenTag(pushed.ManifestDigest)} not found)";
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Equal($"NOT verified: {reason}", refused.Status.Detail);
            Assert.Equal([LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated, LaunchEvents.ImageRejected], node.Events().Select(e => e.Operation));
            Assert.Equal($"{{\"digest\":\"\",\"image\":\"{pulled.ImageRef}\",\"reason\":\"{reason}\"}}", node.Events()[2].Content);
            Assert.Empty((await node.Direct.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } })).Containers);
        }
        finally
        {
            await RemovePodAsync(node, pod);
        }
    }

    [Fact]
    public async Task CreateContainer_ImageUnknownToContainerd_Refused()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var sandbox = CriPods.Sandbox("unknown-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var unknown = "sha256:" + new string('0', 64);
        try
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, unknown, "/bin/busybox", "true")));

            Assert.Equal($"NOT verified: image {unknown} is not in containerd's store", refused.Status.Detail);
            Assert.Equal(LaunchEvents.ImageRejected, node.Events()[^1].Operation);
        }
        finally
        {
            await RemovePodAsync(node, pod);
        }
    }

    [Fact]
    public async Task CreateContainer_SnapshotModifiedAfterThePull_RefusedMeasuredAndRemoved()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, marker) = await CriPods.PushImageAsync(containerd, "app-tampered");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox("tampered-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        try
        {
            var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
            await File.WriteAllTextAsync(Path.Combine(LayerHolding(marker), "etc", "planted"), "not in the golden value");

            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60")));

            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.StartsWith("NOT verified: rootfs digest mismatch: golden value has sha256:", refused.Status.Detail);
            Assert.EndsWith(" (modified after the pull?)", refused.Status.Detail);
            var events = node.Events();
            Assert.Equal([LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImageRejected],
                events.Select(e => e.Operation));
            Assert.Contains($"\"digest\":\"{pushed.ManifestDigest}\"", events[4].Content);
            Assert.Contains($"\"reason\":\"{refused.Status.Detail["NOT verified: ".Length..]}\"", events[4].Content);
            Assert.Empty((await node.Direct.Runtime.ListContainersAsync(new ListContainersRequest { Filter = new ContainerFilter { PodSandboxId = pod } })).Containers);
        }
        finally
        {
            await RemovePodAsync(node, pod);
        }
    }

    [Fact]
    public async Task CreateContainer_SnapshotModifiedAfterAContainerOfItWasCreated_TheSealDoesNotHideItRefused()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (image, pushed, marker) = await CriPods.PushImageAsync(containerd, "app-resealed");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox("resealed-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        try
        {
            var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
            var first = CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60");
            await node.Kubelet.Runtime.CreateContainerAsync(first);
            var marked = Path.Combine(LayerHolding(marker), CriPods.MarkerFile);
            // Same size, same mtime: only the ctime tells.
            var mtime = File.GetLastWriteTimeUtc(marked);
            await File.WriteAllBytesAsync(marked, marker.Select(b => (byte)~b).ToArray());
            File.SetLastWriteTimeUtc(marked, mtime);

            var second = CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60");
            second.Config.Metadata.Attempt = 1;
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Runtime.CreateContainerAsync(second));

            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Matches("^NOT verified: rootfs digest mismatch: golden value has sha256:[0-9a-f]{64}, containerd's snapshot .+ has sha256:[0-9a-f]{64} \\(modified after the pull\\?\\)$",
                refused.Status.Detail);
            Assert.Equal([LaunchEvents.ContainerCreated, LaunchEvents.ImageRejected], node.Events().TakeLast(2).Select(e => e.Operation));
        }
        finally
        {
            await RemovePodAsync(node, pod);
        }
    }

    [Fact]
    public async Task CreateContainer_VerificationOlderThanItsLifetime_ImageJudgedAgain()
    {
        await using var node = await CriTestNode.StartAsync(containerd, verificationLifetime: TimeSpan.Zero);
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, "app-stale");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        var sandbox = CriPods.Sandbox("stale-0", Path.Combine(node.Directory, "pods"));
        var pod = (await node.Kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        try
        {
            var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
            await node.Kubelet.Runtime.CreateContainerAsync(CriPods.Container(pod, sandbox, pulled.ImageRef, "/bin/busybox", "sleep", "60"));

            Assert.Equal(
            [
                LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ImageVerified,
                LaunchEvents.ContainerCreated,
            ], node.Events().Select(e => e.Operation));
        }
        finally
        {
            await RemovePodAsync(node, pod);
        }
    }

    /// <summary>The unpacked layer (overlayfs <c>snapshots/N/fs</c>) of the test image whose marker file holds <paramref name="marker"/>.</summary>
    private string LayerHolding(byte[] marker) =>
        Directory.EnumerateDirectories(containerd.SnapshotsDirectory)
            .Select(d => Path.Combine(d, "fs"))
            .Single(fs => File.Exists(Path.Combine(fs, CriPods.MarkerFile)) && File.ReadAllBytes(Path.Combine(fs, CriPods.MarkerFile)).SequenceEqual(marker));

    private static async Task RemovePodAsync(CriTestNode node, string pod)
    {
        await node.Kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await node.Kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
    }
}
