using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Tests.Golden;

public sealed class GoldenTrustPolicyTests
{
    private static readonly Digest Jws = Digest.Sha256("a golden value"u8);
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static GoldenValue Value(string reference) => new()
    {
        Reference = reference,
        ManifestDigest = Digest.Sha256("m"u8),
        ConfigDigest = Digest.Sha256("c"u8),
        LayerDigests = [],
        DiffIds = [],
        RootfsDigest = Digest.Sha256("r"u8),
        Created = Created,
        Expires = Created.AddDays(1),
    };

    private static GoldenTrustPolicy Parse(string json) => GoldenTrustPolicy.Parse(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("registry.example/team/app:v1", "registry.example/team/app:v2")]
    [InlineData("busybox", "docker.io/library/busybox:1.36")]
    public void FindRefusal_SameRegistryAndRepository_Accepted(string published, string image) =>
        Assert.Null(GoldenTrustPolicy.Default.FindRefusal(Value(published), Jws, ImageReference.Parse(image)));

    [Theory]
    [InlineData("registry.example/team/app:v1", "mirror.example/team/app:v1", "registry.example/team/app", "mirror.example/team/app")]
    [InlineData("registry.example/team/app:v1", "registry.example/team/other:v1", "registry.example/team/app", "registry.example/team/other")]
    [InlineData("registry.example:5000/team/app:v1", "registry.example/team/app:v1", "registry.example:5000/team/app", "registry.example/team/app")]
    public void FindRefusal_AnotherRegistryOrRepository_RefusedByDefault(string published, string image, string from, string to) =>
        Assert.Equal($"golden value was published for {from}, not {to} (a trust policy may allow it: repositories.\"{to}\".golden_from)",
            GoldenTrustPolicy.Default.FindRefusal(Value(published), Jws, ImageReference.Parse(image)));

    [Fact]
    public void FindRefusal_MirrorAllowedByARule_AcceptedOnlyForThatRepository()
    {
        var policy = Parse("""{ "repositories": { "mirror.example/team/app": { "golden_from": ["registry.example/team/app"] } } }""");

        Assert.Null(policy.FindRefusal(Value("registry.example/team/app:v1"), Jws, ImageReference.Parse("mirror.example/team/app:v1")));
        Assert.NotNull(policy.FindRefusal(Value("registry.example/team/app:v1"), Jws, ImageReference.Parse("mirror.example/team/other:v1")));
        Assert.NotNull(policy.FindRefusal(Value("registry.example/evil/app:v1"), Jws, ImageReference.Parse("mirror.example/team/app:v1")));
    }

    [Fact]
    public void FindRefusal_OlderThanTheMinimum_RefusedAtTheMinimumAccepted()
    {
        var policy = Parse("""{ "repositories": { "registry.example/team/app": { "min_created": "2026-03-01T12:00:01Z" } } }""");
        var image = ImageReference.Parse("registry.example/team/app:v1");

        Assert.Equal("golden value created 2026-03-01T12:00:00Z is older than 2026-03-01T12:00:01Z, the oldest the trust policy accepts for registry.example/team/app",
            policy.FindRefusal(Value("registry.example/team/app:v1"), Jws, image));
        Assert.Null(policy.FindRefusal(Value("registry.example/team/app:v1") with { Created = Created.AddSeconds(1) }, Jws, image));
    }

    [Fact]
    public void FindRefusal_Revoked_RefusedWhateverElse() =>
        Assert.Equal($"golden value {Jws} is revoked by the trust policy",
            Parse($$"""{ "revoked": ["{{Jws}}"] }""").FindRefusal(Value("registry.example/team/app:v1"), Jws, ImageReference.Parse("registry.example/team/app:v1")));

    [Theory]
    [InlineData("""{ "mirrors": {} }""", "unknown member 'mirrors'")]
    [InlineData("""{ "revoked": ["md5:abc"] }""", "revoked entry \"md5:abc\" is not a digest")]
    [InlineData("""{ "repositories": { "a/b": { "min_created": "yesterday" } } }""", "repositories.\"a/b\".min_created 'yesterday' is not a UTC time like 2026-01-31T12:00:00Z")]
    [InlineData("""{ "repositories": { "a/b": { "golden_from": ["c/d@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"] } } }""",
        "repositories.\"a/b\".golden_from: 'c/d@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' names a tag or digest; give HOST/REPOSITORY only")]
    [InlineData("""{ "repositories": { "a/b": { "golden_from": "c/d" } } }""", "repositories.\"a/b\".golden_from is String, expected Array")]
    [InlineData("[]", "the policy is Array, expected Object")]
    public void Parse_Malformed_RefusedWithTheReason(string json, string reason) =>
        Assert.Equal(reason, Assert.Throws<FormatException>(() => Parse(json)).Message);
}
