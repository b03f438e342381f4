using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// CRI PullImage behind containers-policy.json, as <c>trustlaunch run</c>: skopeo signs with a gpg key made here
/// (simple signing, file lookaside named by registries.d); the golden value must pass as well.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriSignaturePolicyTests(ContainerdFixture containerd) : IAsyncLifetime
{
    private readonly GpgHome _gpg = new();
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-cri-signing-").FullName;
    private GpgKey _key = null!;

    private string RegistriesD => Path.Combine(_work, "registries.d");
    private string PolicyFile => Path.Combine(_work, "policy.json");

    public async Task InitializeAsync()
    {
        _key = await _gpg.CreateKeyAsync("cri", "ed25519", _work);
        Directory.CreateDirectory(RegistriesD);
        await File.WriteAllTextAsync(Path.Combine(RegistriesD, "test.yaml"), $"docker:\n  {containerd.Registry.Host}:\n    lookaside: file://{Path.Combine(_work, "lookaside")}\n");
        await File.WriteAllTextAsync(PolicyFile, $$$"""
            {"default":[{"type":"insecureAcceptAnything"}],
             "transports":{"docker":{"{{{containerd.Registry.Host}}}/signed":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{{_key.PublicPath}}}"}]} } }
            """);
    }

    public async Task DisposeAsync()
    {
        await _gpg.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>A busybox image of its own pushed as <c>signed/NAME:1</c> by skopeo, signed by the test key when asked; returns kubelet's name and the digest.</summary>
    private async Task<(string Kubelet, string Digest)> PushAsync(CriTestNode node, string name, bool signed)
    {
        var layout = Path.Combine(_work, name);
        await TestImages.BuildAsync(layout, "1", new Dictionary<string, byte[]> { ["/" + CriPods.MarkerFile] = TestImages.RandomPayload(32) });
        var digestFile = Path.Combine(_work, name + ".digest");
        string[] sign = signed ? ["--sign-by", _key.Fingerprint] : [];
        var reference = $"{containerd.Registry.Host}/signed/{name}:1";
        (await ProcessRunner.RunAsync("skopeo", ["--insecure-policy", "--registries.d", RegistriesD, "copy", "--quiet", "--dest-tls-verify=false", .. sign,
            "--digestfile", digestFile, $"oci:{layout}:1", $"docker://{reference}"], _gpg.Environment, timeout: TimeSpan.FromMinutes(2))).EnsureSuccess("skopeo copy");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(reference, publisher);
        return ($"docker.io/signed/{name}:1", (await File.ReadAllTextAsync(digestFile)).Trim());
    }

    [Fact]
    public async Task PullImage_UnsignedWhenThePolicyRequiresSignedBy_NotVerifiedRejectedAndNotPulled()
    {
        await using var node = await CriTestNode.StartAsync(containerd, signaturePolicy: PolicyFile, registriesD: RegistriesD);
        var (image, digest) = await PushAsync(node, "unsigned", signed: false);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));

        var reason = $"signature policy {PolicyFile} (docker:{containerd.Registry.Host}/signed): signedBy: {SignaturePolicyCheck.NoSignature}";
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal($"NOT verified: {reason}", refused.Status.Detail);
        var rejected = Assert.Single(node.Events());
        Assert.Equal(LaunchEvents.ImageRejected, rejected.Operation);
        using var content = JsonDocument.Parse(rejected.Content);
        Assert.Equal((image, digest, reason),
            (content.RootElement.GetProperty("image").GetString(), content.RootElement.GetProperty("digest").GetString(), content.RootElement.GetProperty("reason").GetString()));
        Assert.Null((await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = $"docker.io/signed/unsigned@{digest}" } })).Image);
    }

    [Fact]
    public async Task PullImage_SignedBySkopeoWithTheRequiredKey_PulledAndVerified()
    {
        await using var node = await CriTestNode.StartAsync(containerd, signaturePolicy: PolicyFile, registriesD: RegistriesD);
        var (image, digest) = await PushAsync(node, "signed", signed: true);

        var pulled = await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });

        Assert.Equal([LaunchEvents.ImagePulled, LaunchEvents.ImageVerified], node.Events().Select(e => e.Operation));
        var stored = (await node.Direct.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } })).Image;
        Assert.Contains($"docker.io/signed/signed@{digest}", stored.RepoDigests);
    }
}
