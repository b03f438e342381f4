using System.Security.Cryptography;
using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// An encrypted image under CRI is pulled only onto memory: with the shared containerd, whose overlayfs snapshots are
/// on plain disk, PullImage is refused before anything is judged or fetched. (Pulls that decrypt, through the broker
/// and <c>trustlaunch stream-decrypt</c>, are tested on the broker stack: TrustLaunch.Kbs.Tests EncryptedImageCriEndToEndTests.)
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriEncryptedImageTests(ContainerdFixture containerd)
{
    [Fact]
    public async Task PullImage_EncryptedWhileContainerdSnapshotsAreOnDisk_NotVerifiedRejectedAndNotPulled()
    {
        await using var node = await CriTestNode.StartAsync(containerd);
        var (_, plain, _) = await CriPods.PushImageAsync(containerd, "app-encrypted-src");
        using var jwe = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pub = Path.Combine(node.Directory, "jwe.pub.pem");
        await File.WriteAllTextAsync(pub, jwe.ExportSubjectPublicKeyInfoPem());
        var (cli, prefix) = ServiceProcess.CliCommand();
        (await ProcessRunner.RunAsync(cli, [.. prefix, "image", "encrypt", plain.Reference, $"{containerd.Registry.Host}/library/app-encrypted:1", "--recipient", "jwe:" + pub,
            "--data-dir", Path.Combine(node.Directory, "encrypt")], timeout: TimeSpan.FromMinutes(2))).EnsureSuccess("image encrypt");
        const string image = "docker.io/library/app-encrypted:1";

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var snapshots = Path.Combine(containerd.Root, CriInterception.OverlayfsSnapshotter);
        var reason = $"encrypted image: containerd's snapshots at {snapshots} are not memory-backed (filesystem type 0x{Libc.FileSystemType(snapshots):x}, not tmpfs): decrypted layers would reach the disk";
        Assert.Equal((StatusCode.PermissionDenied, $"NOT verified: {reason}"), (refused.StatusCode, refused.Status.Detail));
        var rejected = Assert.Single(node.Events());
        Assert.Equal(LaunchEvents.ImageRejected, rejected.Operation);
        Assert.Equal(reason, JsonDocument.Parse(rejected.Content).RootElement.GetProperty("reason").GetString());
        Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = image } })).Image);
    }
}
