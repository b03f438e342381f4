using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>trustlaunch image encrypt --recipient provider:trustlaunch:kbs:///…</c> beside a JWE recipient, against the real
/// broker stack and registry: the key-encryption key lands at the broker, every layer's packet opens through an
/// attested node's agent (<c>trustlaunch keyprovider</c> keyunwrap), and skopeo still decrypts the JWE recipient.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KeyProviderImageTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private const string Kid = "kbs:///default/key/kp-image";
    private const string ProviderAnnotation = RegistryManifests.ProviderAnnotation;
    private const string JweAnnotation = RegistryManifests.JweAnnotation;

    private static async Task<ProcessResult> CliAsync(string? stdin, params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        return await ProcessRunner.RunAsync(fileName, [.. prefix, .. arguments], standardInput: stdin);
    }

    [Fact]
    public async Task Encrypt_ProviderAndJweRecipients_PacketsOpenOnAttestedNodeAndSkopeoStillDecrypts()
    {
        var image = await TestImages.BuildAndPushAsync(registry, "test/kp-src", "v1");
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pub = Path.Combine(stack.Directory, "kp-jwe.pub.pem");
        var priv = Path.Combine(stack.Directory, "kp-jwe.pem");
        await File.WriteAllTextAsync(pub, ec.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(priv, ec.ExportPkcs8PrivateKeyPem());
        var destination = $"{registry.Host}/test/kp-enc:v1";

        var encrypted = (await CliAsync(null, "image", "encrypt", image.Reference, destination, "--recipient", $"provider:trustlaunch:{Kid}", "--recipient", "jwe:" + pub,
            "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory, "--data-dir", Path.Combine(stack.Directory, "kp-images"))).EnsureSuccess("image encrypt");
        Assert.EndsWith("encrypted for 2 recipients)", encrypted.StandardOutput.Trim(), StringComparison.Ordinal);

        var plainLayers = RegistryManifests.LayerDigests(await RegistryManifests.GetAsync(registry.Host, "test/kp-src", "v1"));
        var unwrappedDigests = new List<string>();
        foreach (var layer in (await RegistryManifests.GetAsync(registry.Host, "test/kp-enc", "v1"))["layers"]!.AsArray())
        {
            var annotations = layer!["annotations"]!.AsObject();
            Assert.True(annotations.ContainsKey(JweAnnotation));
            var packet = Convert.FromBase64String((string)annotations[ProviderAnnotation]!);
            Assert.Equal(Kid, (string?)JsonNode.Parse(packet)!["kid"]);
            var message = $$$"""{"op":"keyunwrap","keyunwrapparams":{"dc":{"Parameters":{"trustlaunch":["RW5hYmxlZA=="]}},"annotation":"{{{Convert.ToBase64String(packet)}}}"}}""";
            var answer = (await CliAsync(message, "keyprovider", "--agent-socket", KbsBrokerStack.SocketOf(stack.Nodes[0]))).EnsureSuccess("keyprovider keyunwrap");
            var optsdata = Convert.FromBase64String((string)JsonNode.Parse(answer.StandardOutput)!["keyunwrapresults"]!["optsdata"]!);
            unwrappedDigests.Add((string)JsonNode.Parse(Encoding.UTF8.GetString(optsdata))!["digest"]!);
        }
        Assert.Equal(plainLayers, unwrappedDigests);

        var layout = Path.Combine(stack.Directory, "kp-decrypted");
        (await ProcessRunner.RunAsync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--decryption-key", priv, $"docker://{destination}", $"oci:{layout}:t"]))
            .EnsureSuccess("skopeo copy --decryption-key");
        var index = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(layout, "index.json")))!;
        var manifestDigest = ((string)index["manifests"]![0]!["digest"]!)["sha256:".Length..];
        var decrypted = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(layout, "blobs", "sha256", manifestDigest)))!.AsObject();
        Assert.Equal(plainLayers, RegistryManifests.LayerDigests(decrypted));

        var kekFile = Path.Combine(stack.Directory, "kp-image.kek");
        (await stack.AdminCliAsync("resource", "get", "default/key/kp-image", "--out", kekFile)).EnsureSuccess("kbs resource get");
        Assert.Equal(32, (await File.ReadAllBytesAsync(kekFile)).Length);
    }
}
