using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// CRI PullImage behind containers-policy.json with skopeo-made signatures that must not pass: made by another key,
/// or a valid signature of another repository copied beside the image. Same refusals as <c>trustlaunch run</c>.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriTrustSkopeoTests(ContainerdFixture containerd) : IAsyncLifetime
{
    private readonly GpgHome _gpg = new();
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-cri-skopeo-").FullName;
    private GpgKey _trusted = null!;
    private GpgKey _other = null!;

    private string RegistriesD => Path.Combine(_work, "registries.d");
    private string Lookaside => Path.Combine(_work, "lookaside");
    private string PolicyFile => Path.Combine(_work, "policy.json");

    public async Task InitializeAsync()
    {
        _trusted = await _gpg.CreateKeyAsync("cri-trusted", "ed25519", _work);
        _other = await _gpg.CreateKeyAsync("cri-other", "ed25519", _work);
        Directory.CreateDirectory(RegistriesD);
        await File.WriteAllTextAsync(Path.Combine(RegistriesD, "test.yaml"), $"docker:\n  {containerd.Registry.Host}:\n    lookaside: file://{Lookaside}\n");
        await File.WriteAllTextAsync(PolicyFile, $$$"""
            {"default":[{"type":"insecureAcceptAnything"}],
             "transports":{"docker":{"{{{containerd.Registry.Host}}}/skopeo":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{{_trusted.PublicPath}}}"}]} } }
            """);
    }

    public async Task DisposeAsync()
    {
        await _gpg.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>skopeo pushes <paramref name="layout"/> as <c>skopeo/NAME:1</c>, signed by <paramref name="key"/> when given, with its golden value.</summary>
    private async Task<string> PushAsync(CriTestNode node, string layout, string name, GpgKey? key)
    {
        var reference = $"{containerd.Registry.Host}/skopeo/{name}:1";
        string[] sign = key is null ? [] : ["--sign-by", key.Fingerprint];
        (await ProcessRunner.RunAsync("skopeo", ["--insecure-policy", "--registries.d", RegistriesD, "copy", "--quiet", "--dest-tls-verify=false", .. sign,
            $"oci:{layout}:1", $"docker://{reference}"], _gpg.Environment, timeout: TimeSpan.FromMinutes(2))).EnsureSuccess("skopeo copy");
        using (var publisher = node.Publisher())
            await CriGolden.PublishAsync(reference, publisher);
        return reference;
    }

    private async Task<string> LayoutAsync(string name)
    {
        var layout = Path.Combine(_work, name);
        await TestImages.BuildAsync(layout, "1", new Dictionary<string, byte[]> { ["/" + CriPods.MarkerFile] = TestImages.RandomPayload(32) });
        return layout;
    }

    private static async Task<string> RefusedAsync(CriTestNode node, string image)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await node.Kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } }));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        var rejected = Assert.Single(node.Events());
        Assert.Equal(LaunchEvents.ImageRejected, rejected.Operation);
        using var content = System.Text.Json.JsonDocument.Parse(rejected.Content);
        Assert.Equal($"NOT verified: {content.RootElement.GetProperty("reason").GetString()}", refused.Status.Detail);
        return refused.Status.Detail;
    }

    [Fact]
    public async Task PullImage_SkopeoSignedByAnotherKey_RefusedNamingTheKey()
    {
        await using var node = await CriTestNode.StartAsync(containerd, signaturePolicy: PolicyFile, registriesD: RegistriesD);
        await PushAsync(node, await LayoutAsync("other-key"), "other-key", _other);

        Assert.Equal($"NOT verified: signature policy {PolicyFile} (docker:{containerd.Registry.Host}/skopeo): signedBy: signed by key {_other.Fingerprint[^16..]}, which is not among the trusted keys",
            await RefusedAsync(node, "docker.io/skopeo/other-key:1"));
    }

    [Fact]
    public async Task PullImage_SkopeoSignatureOfAnotherRepository_Refused()
    {
        await using var node = await CriTestNode.StartAsync(containerd, signaturePolicy: PolicyFile, registriesD: RegistriesD);
        var layout = await LayoutAsync("shared");
        var original = await PushAsync(node, layout, "original", _trusted);
        var copy = await PushAsync(node, layout, "copy", null);
        var digest = await ManifestDigestAsync(copy);
        var hex = digest["sha256:".Length..];
        var target = Directory.CreateDirectory(Path.Combine(Lookaside, $"skopeo/copy@sha256={hex}")).FullName;
        File.Copy(Path.Combine(Lookaside, $"skopeo/original@sha256={hex}", "signature-1"), Path.Combine(target, "signature-1"));

        Assert.Equal($"NOT verified: signature policy {PolicyFile} (docker:{containerd.Registry.Host}/skopeo): signedBy: signature by {_trusted.Fingerprint}: signature names {original}, not {copy}",
            await RefusedAsync(node, "docker.io/skopeo/copy:1"));
    }

    private static async Task<string> ManifestDigestAsync(string reference)
    {
        using var client = new Oci.Registry.RegistryClient();
        return (await client.GetManifestAsync(Oci.Registry.ImageReference.Parse(reference))).Digest.ToString();
    }
}
