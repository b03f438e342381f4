using System.Text;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Tests.Policy;

public sealed class SignaturePolicyTests
{
    private static SignaturePolicy Parse(string json) => SignaturePolicy.Parse(Encoding.UTF8.GetBytes(json));

    private const string Key = "\"keyData\":\"AAAA\"";

    [Fact]
    public void RequirementsFor_MostSpecificScopeWins()
    {
        var policy = Parse($$"""
            {"default":[{"type":"reject"}],
             "transports":{"docker":{
               "":[{"type":"insecureAcceptAnything"}],
               "*.example.com":[{"type":"sigstoreSigned",{{Key}}}],
               "registry.example.com":[{"type":"signedBy","keyType":"GPGKeys",{{Key}}}],
               "registry.example.com/team/app":[{"type":"reject"}],
               "registry.example.com/team/app:pinned":[{"type":"insecureAcceptAnything"}]
             },"oci":{"":[{"type":"insecureAcceptAnything"}]} } }
            """);
        Assert.Equal("docker:registry.example.com/team/app:pinned", policy.RequirementsFor(ImageReference.Parse("registry.example.com/team/app:pinned")).Scope);
        Assert.Equal("docker:registry.example.com/team/app", policy.RequirementsFor(ImageReference.Parse("registry.example.com/team/app:v2")).Scope);
        Assert.Equal("docker:registry.example.com", policy.RequirementsFor(ImageReference.Parse("registry.example.com/team/other:v2")).Scope);
        Assert.Equal("docker:*.example.com", policy.RequirementsFor(ImageReference.Parse("mirror.example.com/x:1")).Scope);
        Assert.Equal("docker:\"\"", policy.RequirementsFor(ImageReference.Parse("quay.io/x:1")).Scope);
        Assert.IsType<RejectRequirement>(Assert.Single(policy.RequirementsFor(ImageReference.Parse("registry.example.com/team/app:v2")).Requirements));
    }

    [Fact]
    public void RequirementsFor_NoDockerScope_Default()
    {
        var policy = Parse("""{"default":[{"type":"reject"}]}""");
        Assert.Equal("default", policy.RequirementsFor(ImageReference.Parse("busybox")).Scope);
    }

    [Fact]
    public void Parse_SignedIdentities()
    {
        var policy = Parse($$"""
            {"default":[
              {"type":"sigstoreSigned",{{Key}},"signedIdentity":{"type":"matchRepository"} },
              {"type":"sigstoreSigned",{{Key}},"signedIdentity":{"type":"exactReference","dockerReference":"a.example/b:c"} },
              {"type":"sigstoreSigned",{{Key}},"signedIdentity":{"type":"exactRepository","dockerRepository":"a.example/b"} },
              {"type":"sigstoreSigned",{{Key}},"signedIdentity":{"type":"remapIdentity","prefix":"mirror.example","signedPrefix":"a.example"} },
              {"type":"signedBy","keyType":"GPGKeys",{{Key}}}
            ]}
            """);
        Assert.Equal<SignedIdentity>(
            [new MatchRepository(), new ExactReference("a.example/b:c"), new ExactRepository("a.example/b"), new RemapIdentity("mirror.example", "a.example"), new MatchRepoDigestOrExact()],
            policy.Default.Select(r => r switch { SigstoreSignedRequirement s => s.Identity, SignedByRequirement g => g.Identity, _ => throw new InvalidOperationException() }).ToList());
    }

    [Theory]
    [InlineData("""{"default":[{"type":"signedByX509"}]}""", "signature policy policy.json: default[0]: unknown requirement type 'signedByX509'")]
    [InlineData("""{"default":[]}""", "signature policy policy.json: default has no requirements (containers/image refuses an empty list)")]
    [InlineData("""{"transports":{}}""", "signature policy policy.json: it has no \"default\" requirements")]
    [InlineData("""{"default":[{"type":"reject","x":1}]}""", "signature policy policy.json: default[0]: unknown member 'x' for type 'reject'")]
    [InlineData("""{"default":[{"type":"signedBy","keyType":"X509Certificates","keyData":"AA=="}]}""", "signature policy policy.json: default[0]: keyType 'X509Certificates' is not supported (only GPGKeys)")]
    [InlineData("""{"default":[{"type":"signedBy","keyType":"GPGKeys"}]}""", "signature policy policy.json: default[0] must have exactly one of keyPath, keyPaths, keyData (has none)")]
    [InlineData("""{"default":[{"type":"sigstoreSigned","keyData":"AA==","fulcio":{}}]}""", "signature policy policy.json: default[0]: unknown member 'fulcio' for type 'sigstoreSigned'")]
    [InlineData("""{"default":[{"type":"sigstoreSigned","keyData":"AA==","signedIdentity":{"type":"matchAnything"}}]}""", "signature policy policy.json: default[0].signedIdentity: unknown signedIdentity type 'matchAnything'")]
    [InlineData("""{"default":[{"type":"reject"}],"transports":{"docker":{"a.example":[{"type":"nope"}]}}}""", "signature policy policy.json: transports.docker.\"a.example\"[0]: unknown requirement type 'nope'")]
    [InlineData("""{"default":[{"type":"reject"}],"extra":1}""", "signature policy policy.json: unknown member 'extra'")]
    public void Parse_Malformed_RefusedNamingIt(string json, string expected)
    {
        Assert.Equal(expected, Assert.Throws<FormatException>(() => Parse(json)).Message);
    }

    [Theory]
    [InlineData("a.example/b:1", "matchRepoDigestOrExact", "a.example/b:1", null)]
    [InlineData("a.example/b:1", "matchRepoDigestOrExact", "a.example/b:2", "signature names a.example/b:2, not a.example/b:1")]
    [InlineData("a.example/b@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "matchRepoDigestOrExact", "a.example/b:2", null)]
    [InlineData("a.example/b:1", "matchRepository", "a.example/b:2", null)]
    [InlineData("a.example/b:1", "matchRepository", "a.example/c:1", "signature names repository a.example/c, not a.example/b")]
    [InlineData("a.example/b:1", "matchExact", "a.example/b", "signature names a.example/b, not a.example/b:1")]
    public void IdentityMatch_Kinds(string image, string kind, string signed, string? expected)
    {
        SignedIdentity identity = kind switch
        {
            "matchRepository" => new MatchRepository(),
            "matchExact" => new MatchExact(),
            _ => new MatchRepoDigestOrExact(),
        };
        Assert.Equal(expected, IdentityMatch.Refusal(identity, ImageReference.Parse(image), signed));
    }

    [Fact]
    public void IdentityMatch_RemapAndExact()
    {
        var image = ImageReference.Parse("mirror.example/team/app:1");
        Assert.Null(IdentityMatch.Refusal(new RemapIdentity("mirror.example/team", "origin.example/team"), image, "origin.example/team/app:1"));
        Assert.Equal("signature names mirror.example/team/app:1, not origin.example/team/app:1",
            IdentityMatch.Refusal(new RemapIdentity("mirror.example/team", "origin.example/team"), image, "mirror.example/team/app:1"));
        Assert.Null(IdentityMatch.Refusal(new ExactReference("origin.example/x:7"), image, "origin.example/x:7"));
        Assert.Equal("signature names repository origin.example/y, not origin.example/x (exactRepository)",
            IdentityMatch.Refusal(new ExactRepository("origin.example/x"), image, "origin.example/y:1"));
    }

    [Fact]
    public void RegistriesD_MostSpecificNamespace_ThenDefault()
    {
        var d = RegistriesD.Parse([
            ("a.yaml", "default-docker:\n  lookaside: https://sigs.example/default\n"),
            ("b.yaml", "docker:\n  reg.example:5000:\n    lookaside: file:///srv/sigs\n    lookaside-staging: file:///srv/staging\n" +
                       "  reg.example:5000/team/app:\n    use-sigstore-attachments: true\n"),
        ]);
        var app = d.For(ImageReference.Parse("reg.example:5000/team/app:1"));
        Assert.Equal(new SignatureStorage(new Uri("file:///srv/sigs"), new Uri("file:///srv/staging"), true), app);
        Assert.Equal(new SignatureStorage(new Uri("https://sigs.example/default"), null, false), d.For(ImageReference.Parse("other.example/x:1")));
        Assert.Equal(new Uri("file:///srv/sigs/team/app@sha256=" + new string('b', 64) + "/signature-2"),
            LookasideStore.SignatureUri(app.Lookaside, ImageReference.Parse("reg.example:5000/team/app:1"), TrustLaunch.Oci.Content.Digest.Parse("sha256:" + new string('b', 64)), 2));
    }

    [Theory]
    [InlineData("docker:\n  a.example:\n    lookaside: ftp://x\n", "registries.d x.yaml: docker.\"a.example\".lookaside 'ftp://x' is not a file://, http:// or https:// URL")]
    [InlineData("docker:\n  a.example:\n    lookasid: file:///x\n", "registries.d x.yaml: unknown key 'lookasid' in docker.\"a.example\"")]
    [InlineData("dockr: {}\n", "registries.d x.yaml: unknown key 'dockr'")]
    [InlineData("docker:\n  a.example:\n    lookaside-staging: https://x\n", "registries.d x.yaml: docker.\"a.example\".lookaside-staging 'https://x' is not a file:// URL")]
    public void RegistriesD_Malformed_Refused(string yaml, string expected)
    {
        Assert.Equal(expected, Assert.Throws<FormatException>(() => RegistriesD.Parse([("x.yaml", yaml)])).Message);
    }
}
