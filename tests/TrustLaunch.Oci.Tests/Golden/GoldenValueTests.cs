using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Tests.Golden;

public sealed class GoldenValueTests : IDisposable
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Created.AddDays(1);
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly PemPayloadSigner _signer;
    private readonly TrustedKeys _trusted;

    public GoldenValueTests()
    {
        _signer = PemPayloadSigner.FromPem(_key.ExportPkcs8PrivateKeyPem());
        _trusted = new TrustedKeys([PemPayloadVerifier.FromPem(_key.ExportSubjectPublicKeyInfoPem())]);
    }

    public void Dispose()
    {
        _signer.Dispose();
        _key.Dispose();
    }

    private static Digest D(string s) => Digest.Sha256(Encoding.UTF8.GetBytes(s));

    private static GoldenValue Sample() => new()
    {
        Reference = "registry.local/app:1\u0001\"é",
        ManifestDigest = D("manifest"),
        ConfigDigest = D("config"),
        LayerDigests = [D("l0"), D("l1")],
        DiffIds = [D("d0"), D("d1")],
        RootfsDigest = D("rootfs"),
        Created = Created,
        Expires = Created.AddDays(30),
    };

    [Fact]
    public void ToCanonicalJson_SortsMembersAndEscapesPerJcs()
    {
        var json = Encoding.UTF8.GetString(Sample().ToCanonicalJson());
        Assert.StartsWith("{\"config_digest\":\"sha256:", json);
        Assert.Contains("\"reference\":\"registry.local/app:1\\u0001\\\"é\"", json);
        Assert.Contains("\"created\":\"2026-01-01T00:00:00Z\",\"diff_ids\":[", json);
        Assert.EndsWith(",\"version\":1}", json);
    }

    [Fact]
    public void Verify_SignedValue_Verified()
    {
        var jws = Sample().Sign(_signer);
        var result = GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now);
        Assert.True(result.IsVerified, result.Reason);
        Assert.Equal((Sample() with { PublisherKeyId = _signer.KeyId }).ToCanonicalJson(), result.Value!.ToCanonicalJson());
    }

    [Fact]
    public void Verify_RsaPs256_Verified()
    {
        using var rsa = RSA.Create(2048);
        using var signer = PemPayloadSigner.FromPem(rsa.ExportRSAPrivateKeyPem(), "PS256");
        var trusted = new TrustedKeys([PemPayloadVerifier.FromPem(rsa.ExportSubjectPublicKeyInfoPem())]);
        Assert.True(GoldenValueVerifier.Verify(Sample().Sign(signer), trusted, D("manifest"), Now).IsVerified);
    }

    [Fact]
    public void Verify_UntrustedKey_NamesKid()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = PemPayloadSigner.FromPem(other.ExportPkcs8PrivateKeyPem());
        var result = GoldenValueVerifier.Verify(Sample().Sign(signer), _trusted, D("manifest"), Now);
        Assert.Equal($"untrusted publisher key {signer.KeyId}", result.Reason);
        Assert.Equal($"NOT verified: untrusted publisher key {signer.KeyId}", result.ToString());
    }

    [Fact]
    public void Verify_TamperedPayload_SignatureInvalid()
    {
        var parts = Sample().Sign(_signer).Split('.');
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("app:1", "app:2", StringComparison.Ordinal);
        var jws = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
        Assert.Equal("signature invalid", GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now).Reason);
    }

    [Fact]
    public void Verify_Expired_NamesTime() =>
        Assert.Equal("expired at 2026-01-31T00:00:00Z", GoldenValueVerifier.Verify(Sample().Sign(_signer), _trusted, D("manifest"), Created.AddDays(31)).Reason);

    [Fact]
    public void Verify_BeforeCreated_NotYetValid() =>
        Assert.Equal("not yet valid", GoldenValueVerifier.Verify(Sample().Sign(_signer), _trusted, D("manifest"), Created.AddSeconds(-1)).Reason);

    [Fact]
    public void Verify_OtherImage_ManifestDigestMismatch() =>
        Assert.Equal($"manifest digest mismatch: golden value is for {D("manifest")}, image is {D("other")}",
            GoldenValueVerifier.Verify(Sample().Sign(_signer), _trusted, D("other"), Now).Reason);

    [Theory]
    [InlineData("a.b", "malformed golden value: compact JWS has 2 parts, expected 3")]
    [InlineData("!!.b.c", "malformed golden value: compact JWS part is not base64url")]
    [InlineData("e30.e30.AA", "malformed golden value: JWS header has no string 'alg'")]
    [InlineData("eyJhbGciOiJFUzI1NiIsImFsZyI6Im5vbmUifQ.e30.AA", "malformed golden value: JWS header is not JSON: ")]
    public void Verify_Garbage_Malformed(string jws, string reason) =>
        Assert.StartsWith(reason, GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now).Reason);

    [Fact]
    public void Verify_SignedNonCanonicalPayload_Malformed()
    {
        var payload = Encoding.UTF8.GetBytes(" " + Encoding.UTF8.GetString((Sample() with { PublisherKeyId = _signer.KeyId }).ToCanonicalJson()));
        var jws = Jws.SignCompact(payload, _signer, GoldenValue.JwsType);
        Assert.Equal("malformed golden value: payload is not in RFC 8785 canonical form", GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now).Reason);
    }

    [Fact]
    public void Verify_SignedPayloadMissingMember_Malformed()
    {
        var jws = Jws.SignCompact("{\"version\":1}"u8, _signer, GoldenValue.JwsType);
        Assert.Equal("malformed golden value: member 'reference' is missing", GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now).Reason);
    }

    [Fact]
    public void Verify_WrongTyp_Malformed()
    {
        var jws = Jws.SignCompact((Sample() with { PublisherKeyId = _signer.KeyId }).ToCanonicalJson(), _signer, "JWT");
        Assert.Equal($"malformed golden value: JWS typ is 'JWT', expected '{GoldenValue.JwsType}'", GoldenValueVerifier.Verify(jws, _trusted, D("manifest"), Now).Reason);
    }

    [Fact]
    public void FindMismatch_NamesFirstDifference()
    {
        var golden = Sample();
        var image = new ObservedImage(D("manifest"), D("config"), [D("l0"), D("l1")], [D("d0"), D("d1")], D("rootfs"));
        Assert.Null(golden.FindMismatch(image));
        Assert.Null(golden.FindMismatch(image with { RootfsDigest = null }));
        Assert.Equal($"config digest mismatch: golden value has {D("config")}, image has {D("x")}", golden.FindMismatch(image with { ConfigDigest = D("x") }));
        Assert.Equal($"layer 1 digest mismatch: golden value has {D("l1")}, image has {D("x")}", golden.FindMismatch(image with { LayerDigests = [D("l0"), D("x")] }));
        Assert.Equal($"layer 0 diff_id mismatch: golden value has {D("d0")}, image has {D("x")}", golden.FindMismatch(image with { DiffIds = [D("x"), D("d1")] }));
        Assert.Equal($"rootfs digest mismatch: golden value has {D("rootfs")}, unpacked rootfs has {D("x")}", golden.FindMismatch(image with { RootfsDigest = D("x") }));
    }

    [Fact]
    public void Artifact_BuildThenParse_RoundTrips()
    {
        var jws = Sample().Sign(_signer);
        var subject = new OciDescriptor { MediaType = MediaTypes.OciManifest, Digest = D("manifest"), Size = 500 };
        var artifact = GoldenArtifact.Build(jws, subject);
        var text = Encoding.UTF8.GetString(artifact.ManifestBytes);
        Assert.Contains("\"artifactType\":\"application/vnd.trustlaunch.golden.v1+json\"", text);
        Assert.Contains("\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2", text);
        var layer = GoldenArtifact.ParseManifest(artifact.ManifestBytes, D("manifest"));
        Assert.Equal(jws, GoldenArtifact.ReadJws(layer, artifact.Layer));
        Assert.Equal($"sha256-{D("manifest").Hex}.golden", GoldenArtifact.TagFor(D("manifest")));
        Assert.Throws<FormatException>(() => GoldenArtifact.ParseManifest(artifact.ManifestBytes, D("other")));
    }
}
