using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// A loopback docker-registry with two small busybox images built once (OCI layouts <see cref="LayoutA"/> and
/// <see cref="LayoutB"/>, tag <c>t</c>, two layers each) that tests push under the repositories they need.
/// </summary>
/// <remarks>
/// Built by a shell script rather than <see cref="TestImages.BuildAsync"/>: layer 1 needs a symlink beside the file.
/// </remarks>
public sealed class ImageRegistryFixture : RegistryFixture
{
    public string LayoutA => Path.Combine(Directory, "layout-a");
    public string LayoutB => Path.Combine(Directory, "layout-b");
    public PushedImage Busybox { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await BuildAsync(LayoutA, "hello from image A");
        await BuildAsync(LayoutB, "hello from image B");
        Busybox = await PushAsync(LayoutA, "test/busybox", "v1");
    }

    /// <summary>Layer 1: /bin/busybox and /bin/sh; layer 2: /etc/hello.txt holding <paramref name="hello"/>.</summary>
    private async Task BuildAsync(string layout, string hello)
    {
        var work = System.IO.Directory.CreateTempSubdirectory("trustlaunch-cli-image-").FullName;
        try
        {
            (await ProcessRunner.RunAsync("sh", ["-euc", $"""
                umoci init --layout '{layout}'
                umoci new --image '{layout}:t'
                umoci unpack --image '{layout}:t' b1
                mkdir -p b1/rootfs/bin
                cp /bin/busybox b1/rootfs/bin/busybox
                ln -s busybox b1/rootfs/bin/sh
                umoci repack --image '{layout}:t' b1
                umoci unpack --image '{layout}:t' b2
                mkdir -p b2/rootfs/etc
                echo '{hello}' > b2/rootfs/etc/hello.txt
                umoci repack --image '{layout}:t' b2
                umoci config --image '{layout}:t' --os linux --architecture amd64 --config.cmd /bin/busybox --config.cmd sh
                umoci gc --layout '{layout}'
                """], workingDirectory: work, timeout: TimeSpan.FromMinutes(2))).EnsureSuccess("umoci build");
        }
        finally
        {
            System.IO.Directory.Delete(work, recursive: true);
        }
    }

    public Task<PushedImage> PushAsync(string layout, string repository, string tag) => TestImages.PushAsync(this, layout, "t", repository, tag);

    /// <summary>Writes an EC P-256 (or RSA-2048) key pair as PKCS#8 / SPKI PEM files; returns (private, public) paths.</summary>
    public static (string Private, string Public) WriteKeyPair(string directory, string name, bool rsa = false)
    {
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var priv = Path.Combine(directory, name + ".pem");
        var pub = Path.Combine(directory, name + ".pub.pem");
        File.WriteAllText(priv, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(pub, key.ExportSubjectPublicKeyInfoPem() + "\n");
        return (priv, pub);
    }

    /// <summary>The manifest of an OCI layout's only image.</summary>
    public static OciManifest LayoutManifest(string layout, out Digest digest)
    {
        var index = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(layout, "index.json")), OciJsonContext.Default.OciIndex)!;
        digest = index.Manifests.Single().Digest;
        return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", digest.Hex)), OciJsonContext.Default.OciManifest)!;
    }

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>
    /// Replaces <paramref name="oldText"/> by <paramref name="newText"/> in the payload of the golden value of
    /// <paramref name="reference"/> (manifest <paramref name="manifestDigest"/>) and pushes it back under its tag,
    /// keeping the signature: an attacker's edit that no longer verifies.
    /// </summary>
    public static async Task RewriteGoldenPayloadAsync(string reference, string manifestDigest, string oldText, string newText)
    {
        using var client = new RegistryClient();
        var repo = ImageReference.Parse(reference);
        var tag = repo.WithTag($"sha256-{manifestDigest[7..]}.golden");
        var layer = GoldenArtifact.ParseManifest((await client.GetManifestAsync(tag)).Bytes);
        await using var blob = await client.OpenBlobAsync(tag, layer.Digest, layer.Size);
        var parts = (await new StreamReader(blob).ReadToEndAsync()).Split('.');
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        Assert.Contains(oldText, payload);
        parts[1] = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.Replace(oldText, newText)));

        var subject = await client.GetManifestAsync(repo.WithDigest(Digest.Parse(manifestDigest)));
        var artifact = GoldenArtifact.Build(string.Join('.', parts),
            new OciDescriptor { MediaType = subject.MediaType, Digest = subject.Digest, Size = subject.Bytes.Length });
        await client.PushBlobAsync(tag, artifact.Layer);
        await client.PushManifestAsync(tag, artifact.ManifestBytes, MediaTypes.OciManifest);
    }

    /// <summary>Copies the golden value of manifest <paramref name="from"/> onto the golden tag of <paramref name="to"/> in <paramref name="reference"/>'s repository.</summary>
    public static async Task CopyGoldenValueAsync(string reference, string from, string to)
    {
        using var client = new RegistryClient();
        var repo = ImageReference.Parse(reference);
        var artifact = await client.GetManifestAsync(repo.WithTag($"sha256-{from[7..]}.golden"));
        await client.PushManifestAsync(repo.WithTag($"sha256-{to[7..]}.golden"), artifact.Bytes, MediaTypes.OciManifest);
    }
}
