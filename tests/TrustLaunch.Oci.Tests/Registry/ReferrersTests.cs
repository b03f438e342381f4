using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Tests.Policy;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>
/// Debian's docker-registry 2.8 has no referrers API: against it the tag scheme is used, for real. The referrers path
/// is exercised with a handler in front of the same real registry that adds <c>GET /v2/NAME/referrers/DIGEST</c>
/// (answering the index given) and hides the tags named — not against a registry implementing OCI 1.1 itself.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ReferrersTests(CosignImagesFixture registry) : IClassFixture<CosignImagesFixture>
{
    private sealed class ReferrersHandler(IReadOnlyList<OciDescriptor> referrers, params string[] hiddenTags) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.Contains("/referrers/sha256:", StringComparison.Ordinal))
            {
                var index = new OciIndex { MediaType = MediaTypes.OciIndex, Manifests = referrers };
                var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(index, OciJsonContext.Default.OciIndex));
                content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciIndex);
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
            }
            if (hiddenTags.Any(t => path.EndsWith("/manifests/" + t, StringComparison.Ordinal)))
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"errors":[{"code":"MANIFEST_UNKNOWN"}]}""") });
            return base.SendAsync(request, cancellationToken);
        }
    }

    private async Task<(ImageReference Image, Digest Digest, OciDescriptor Subject)> PushAsync(string repository)
    {
        var (image, digest) = await registry.PushAsync(repository);
        using var client = new RegistryClient();
        var manifest = await client.GetManifestAsync(image.WithDigest(digest));
        return (image, digest, new OciDescriptor { MediaType = manifest.MediaType, Digest = digest, Size = manifest.Bytes.Length });
    }

    /// <summary>Pushes a golden value artifact by digest only (no tag), as a referrers-only publisher would; returns its descriptor.</summary>
    private static async Task<OciDescriptor> PushGoldenByDigestAsync(RegistryClient client, ImageReference image, OciDescriptor subject, string jws)
    {
        var artifact = GoldenArtifact.Build(jws, subject);
        await client.PushBlobAsync(image, artifact.Config);
        await client.PushBlobAsync(image, artifact.Layer);
        await client.PushManifestAsync(image.WithDigest(artifact.ManifestDigest), artifact.ManifestBytes, MediaTypes.OciManifest);
        return new OciDescriptor { MediaType = MediaTypes.OciManifest, Digest = artifact.ManifestDigest, Size = artifact.ManifestBytes.Length, ArtifactType = MediaTypes.GoldenValue };
    }

    [Fact]
    public async Task GetReferrersAsync_DockerRegistry28_NotServed()
    {
        var (image, digest, _) = await PushAsync("refs/none");
        using var client = new RegistryClient();
        Assert.Null(await client.GetReferrersAsync(image, digest, MediaTypes.GoldenValue));
    }

    [Fact]
    public async Task FetchArtifactAsync_OneReferrer_FoundWithoutTheTag()
    {
        var (image, digest, subject) = await PushAsync("refs/golden");
        OciDescriptor golden;
        using (var plain = new RegistryClient())
            golden = await PushGoldenByDigestAsync(plain, image, subject, "header.payload.signature");
        using var client = new RegistryClient(handler: new ReferrersHandler([golden]));

        var (_, jws, missing, malformed) = await GoldenFetch.FetchArtifactAsync(client, image, digest, CancellationToken.None);

        Assert.Equal(("header.payload.signature", false, (string?)null), (jws, missing, malformed));
    }

    [Fact]
    public async Task FetchArtifactAsync_SeveralReferrersNoTag_RefusedAsAmbiguous()
    {
        var (image, digest, subject) = await PushAsync("refs/ambiguous");
        OciDescriptor first, second;
        using (var plain = new RegistryClient())
        {
            first = await PushGoldenByDigestAsync(plain, image, subject, "a.b.c");
            second = await PushGoldenByDigestAsync(plain, image, subject, "d.e.f");
        }
        using var client = new RegistryClient(handler: new ReferrersHandler([first, second]));

        var (tag, _, missing, malformed) = await GoldenFetch.FetchArtifactAsync(client, image, digest, CancellationToken.None);

        Assert.False(missing);
        Assert.Equal($"2 golden values refer to the image and no tag {tag.Tag} says which is current", malformed);
    }

    [Fact]
    public async Task ReadAsync_CosignReferrer_ReadBesideTheTag()
    {
        var (image, digest, _) = await PushAsync("refs/cosign");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        OciDescriptor attachment;
        using (var plain = new RegistryClient())
        {
            var tag = await ImageSigner.SignWithCosignAsync(plain, image, digest, key, CancellationToken.None);
            var manifest = await plain.GetManifestAsync(tag);
            attachment = new OciDescriptor { MediaType = MediaTypes.OciManifest, Digest = manifest.Digest, Size = manifest.Bytes.Length, ArtifactType = CosignSignatures.ReferrerArtifactType };
        }
        using var client = new RegistryClient(handler: new ReferrersHandler([attachment], CosignSignatures.TagFor(digest)));

        var signatures = await CosignSignatures.ReadAsync(client, image, digest, CancellationToken.None);

        var signature = Assert.Single(signatures);
        Assert.Equal(digest, SimpleSigningPayload.Parse(signature.Payload, SimpleSigningPayload.CosignType).ManifestDigest);
        Assert.Equal(digest, CosignSignatures.Verify(signature, [key.ExportSubjectPublicKeyInfoPem()]).Payload.ManifestDigest);
        Assert.Contains("cosign container image signature", Encoding.UTF8.GetString(signature.Payload));
    }
}
