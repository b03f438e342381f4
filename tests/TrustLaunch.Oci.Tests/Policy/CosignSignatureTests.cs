using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Policy;

public sealed class CosignImagesFixture : RegistryFixture
{
    public string Layout => Path.Combine(Directory, "layout");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await TestImages.BuildAsync(Layout, "v1");
    }

    public async Task<(ImageReference Image, Digest Digest)> PushAsync(string repository)
    {
        var pushed = await TestImages.PushAsync(this, Layout, "v1", repository);
        return (ImageReference.Parse(pushed.Reference), Digest.Parse(pushed.ManifestDigest));
    }
}

/// <summary>
/// cosign's registry format: ours signed and read back, refused with another key or identity, and a hand-made
/// attachment (JSON written here byte by byte, signature by .NET's ECDsa, as cosign's layout documents it) read by us.
/// Debian's skopeo 1.9 has sigstore disabled, so there is no peer tool to check against.
/// </summary>
[Trait("Category", "Slow")]
public sealed class CosignSignatureTests(CosignImagesFixture registry) : IClassFixture<CosignImagesFixture>
{
    private static readonly RegistriesD Attachments = RegistriesD.Parse([("sigstore.yaml", "default-docker:\n  use-sigstore-attachments: true\n")]);

    private static string PolicyFor(ECDsa key, string identity = "") => $$"""
        {"default":[{"type":"sigstoreSigned","keyData":"{{Convert.ToBase64String(Encoding.ASCII.GetBytes(key.ExportSubjectPublicKeyInfoPem()))}}"{{identity}} }]}
        """;

    private static async Task<PolicyVerdict> CheckAsync(string policy, ImageReference image, Digest digest, RegistriesD? registriesD = null)
    {
        using var client = new RegistryClient();
        using var http = new HttpClient();
        return await new SignaturePolicyCheck(SignaturePolicy.Parse(Encoding.UTF8.GetBytes(policy)), registriesD ?? Attachments, http)
            .CheckAsync(client, image, digest, CancellationToken.None);
    }

    [Fact]
    public async Task SignWithCosign_OursVerified_AndTwoSignaturesKept()
    {
        var (image, digest) = await registry.PushAsync("cosign/ours");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var second = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = new RegistryClient();

        var tag = await ImageSigner.SignWithCosignAsync(client, image, digest, key, CancellationToken.None);
        await ImageSigner.SignWithCosignAsync(client, image, digest, second, CancellationToken.None);

        Assert.Equal($"sha256-{digest.Hex}.sig", tag.Tag);
        Assert.Equal(2, (await CosignSignatures.ReadAsync(client, image, digest, CancellationToken.None)).Count);
        var verdict = await CheckAsync(PolicyFor(second), image, digest);
        Assert.Null(verdict.Refusal);
        Assert.Equal(["sha256:" + Convert.ToHexStringLower(SHA256.HashData(second.ExportSubjectPublicKeyInfo()))], verdict.Signers);
    }

    [Fact]
    public async Task CheckAsync_OtherKey_Refused()
    {
        var (image, digest) = await registry.PushAsync("cosign/otherkey");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var trusted = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = new RegistryClient();
        await ImageSigner.SignWithCosignAsync(client, image, digest, key, CancellationToken.None);
        Assert.Equal("signature policy policy.json (default): sigstoreSigned: cosign signature does not verify under any of the trusted keys",
            (await CheckAsync(PolicyFor(trusted), image, digest)).Refusal);
    }

    [Fact]
    public async Task CheckAsync_Unsigned_OrAttachmentsNotEnabled_Refused()
    {
        var (image, digest) = await registry.PushAsync("cosign/unsigned");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal($"signature policy policy.json (default): sigstoreSigned: {SignaturePolicyCheck.NoSignature}", (await CheckAsync(PolicyFor(key), image, digest)).Refusal);
        using var client = new RegistryClient();
        await ImageSigner.SignWithCosignAsync(client, image, digest, key, CancellationToken.None);
        Assert.Equal($"signature policy policy.json (default): sigstoreSigned: {SignaturePolicyCheck.NoSignature} (registries.d does not set use-sigstore-attachments for this repository)",
            (await CheckAsync(PolicyFor(key), image, digest, RegistriesD.Parse([]))).Refusal);
    }

    [Fact]
    public async Task CheckAsync_HandMadeAttachment_VerifiedAndIdentityChecked()
    {
        var (image, digest) = await registry.PushAsync("cosign/handmade");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var payload = Encoding.UTF8.GetBytes(
            $$"""{"critical":{"identity":{"docker-reference":"{{registry.Host}}/cosign/elsewhere"},"image":{"docker-manifest-digest":"{{digest}}"},"type":"cosign container image signature"},"optional":null}""");
        var signature = Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        var payloadDigest = Digest.Sha256(payload);
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
             "layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{{payloadDigest}}","size":{{payload.Length}},
                        "annotations":{"dev.cosignproject.cosign/signature":"{{signature}}"} }]}
            """);
        using (var client = new RegistryClient())
        {
            var tag = image.WithTag($"sha256-{digest.Hex}.sig");
            await client.PushBlobAsync(tag, "{}"u8.ToArray());
            await client.PushBlobAsync(tag, payload);
            using var http = new HttpClient();
            using var put = new HttpRequestMessage(HttpMethod.Put, $"http://{registry.Host}/v2/cosign/handmade/manifests/{tag.Tag}") { Content = new ByteArrayContent(manifest) };
            put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
            (await http.SendAsync(put)).EnsureSuccessStatusCode();
        }

        // The default identity (matchRepoDigestOrExact) wants this repository and tag; the payload names another repository.
        Assert.Equal($"signature policy policy.json (default): sigstoreSigned: signature by sha256:{Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))}: " +
                     $"signature names {registry.Host}/cosign/elsewhere, not {image}", (await CheckAsync(PolicyFor(key), image, digest)).Refusal);
        var exact = $$""","signedIdentity":{"type":"exactRepository","dockerRepository":"{{registry.Host}}/cosign/elsewhere"}""";
        Assert.Null((await CheckAsync(PolicyFor(key, exact), image, digest)).Refusal);
    }
}
