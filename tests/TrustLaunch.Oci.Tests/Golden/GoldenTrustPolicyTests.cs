using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Golden;

public sealed class GoldenTrustPolicyTests : IDisposable
{
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _publisherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _storeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly PemPayloadSigner _publisher;
    private readonly PemPayloadSigner _store;
    private readonly PemPayloadSigner _stranger;
    private readonly TrustedKeys _trusted;

    public GoldenTrustPolicyTests()
    {
        _publisher = PemPayloadSigner.FromPem(_publisherKey.ExportPkcs8PrivateKeyPem());
        _store = PemPayloadSigner.FromPem(_storeKey.ExportPkcs8PrivateKeyPem());
        _stranger = PemPayloadSigner.FromPem(_strangerKey.ExportPkcs8PrivateKeyPem());
        _trusted = new TrustedKeys([PemPayloadVerifier.FromPem(_publisherKey.ExportSubjectPublicKeyInfoPem()),
            PemPayloadVerifier.FromPem(_storeKey.ExportSubjectPublicKeyInfoPem())]);
    }

    public void Dispose()
    {
        foreach (var d in new IDisposable[] { _publisher, _store, _stranger, _publisherKey, _storeKey, _strangerKey })
            d.Dispose();
    }

    /// <summary>Signs <paramref name="value"/> by the publisher, countersigned by <paramref name="countersigners"/>, and verifies it.</summary>
    private GoldenVerification Verified(GoldenValue value, params PemPayloadSigner[] countersigners) =>
        Verify(Signed(value, countersigners), value);

    private string Signed(GoldenValue value, params PemPayloadSigner[] countersigners)
    {
        var jws = value.Sign(_publisher);
        foreach (var c in countersigners)
            jws = GoldenCountersign.Add(jws, c).Jws;
        return jws;
    }

    private GoldenVerification Verify(string jws, GoldenValue value)
    {
        var verification = GoldenValueVerifier.Verify(jws, _trusted, value.ManifestDigest, Created.AddHours(1));
        Assert.True(verification.IsVerified, verification.Reason);
        return verification;
    }

    private string? Check(GoldenTrustPolicy policy, GoldenValue value, string image) =>
        policy.FindRefusal(Verified(value), ImageReference.Parse(image));

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
        Assert.Null(Check(GoldenTrustPolicy.Default, Value(published), image));

    [Theory]
    [InlineData("registry.example/team/app:v1", "mirror.example/team/app:v1", "registry.example/team/app", "mirror.example/team/app")]
    [InlineData("registry.example/team/app:v1", "registry.example/team/other:v1", "registry.example/team/app", "registry.example/team/other")]
    [InlineData("registry.example:5000/team/app:v1", "registry.example/team/app:v1", "registry.example:5000/team/app", "registry.example/team/app")]
    public void FindRefusal_AnotherRegistryOrRepository_RefusedByDefault(string published, string image, string from, string to) =>
        Assert.Equal($"golden value was published for {from}, not {to} (a trust policy may allow it: repositories.\"{to}\".golden_from)",
            Check(GoldenTrustPolicy.Default, Value(published), image));

    [Fact]
    public void FindRefusal_MirrorAllowedByARule_AcceptedOnlyForThatRepository()
    {
        var policy = Parse("""{ "repositories": { "mirror.example/team/app": { "golden_from": ["registry.example/team/app"] } } }""");

        Assert.Null(Check(policy, Value("registry.example/team/app:v1"), "mirror.example/team/app:v1"));
        Assert.NotNull(Check(policy, Value("registry.example/team/app:v1"), "mirror.example/team/other:v1"));
        Assert.NotNull(Check(policy, Value("registry.example/evil/app:v1"), "mirror.example/team/app:v1"));
    }

    [Fact]
    public void FindRefusal_OlderThanTheMinimum_RefusedAtTheMinimumAccepted()
    {
        var policy = Parse("""{ "repositories": { "registry.example/team/app": { "min_created": "2026-03-01T12:00:01Z" } } }""");
        const string image = "registry.example/team/app:v1";

        Assert.Equal("golden value created 2026-03-01T12:00:00Z is older than 2026-03-01T12:00:01Z, the oldest the trust policy accepts for registry.example/team/app",
            Check(policy, Value("registry.example/team/app:v1"), image));
        Assert.Null(Check(policy, Value("registry.example/team/app:v1") with { Created = Created.AddSeconds(1) }, image));
    }

    [Fact]
    public void FindRefusal_Revoked_RefusedWhateverElse()
    {
        var verification = Verified(Value("registry.example/team/app:v1"));
        Assert.Equal($"golden value {verification.Golden} is revoked by the trust policy",
            Parse($$"""{ "revoked": ["{{verification.Golden}}"] }""").FindRefusal(verification, ImageReference.Parse("registry.example/team/app:v1")));
    }

    [Fact]
    public void FindRefusal_RevokedValueCountersignedOrReserialized_StillRevoked()
    {
        var value = Value("registry.example/team/app:v1");
        var compact = value.Sign(_publisher);
        var revoked = GoldenValue.JwsDigest(compact);
        var policy = Parse($$"""{ "revoked": ["{{revoked}}"] }""");
        var countersigned = GoldenCountersign.Add(compact, _store).Jws;
        var reserialized = countersigned.Replace("{\"payload\"", "{ \"payload\"", StringComparison.Ordinal);

        foreach (var jws in new[] { countersigned, reserialized })
            Assert.Equal($"golden value {GoldenValue.JwsDigest(jws)} is revoked by the trust policy: it holds the signature of revoked golden value {revoked}",
                policy.FindRefusal(Verify(jws, value), ImageReference.Parse("registry.example/team/app:v1")));
    }

    [Fact]
    public void FindRefusal_RevokedPayloadReSignedOrMalleated_StillRevoked()
    {
        var value = Value(Repository + ":v1");
        var first = value.Sign(_publisher);
        var revoked = Verify(first, value);
        var policy = Parse($$"""{ "revoked": ["{{revoked.Payload}}"] }""");
        var resigned = value.Sign(_publisher);
        var malleated = JwsMalleation.Malleated(first);

        foreach (var jws in new[] { first, resigned, malleated, GoldenCountersign.Add(malleated, _store).Jws })
        {
            var verification = Verify(jws, value);
            Assert.Equal(revoked.Payload, verification.Payload);
            Assert.Equal($"golden value {GoldenValue.JwsDigest(jws)} is revoked by the trust policy: its payload {revoked.Payload} is revoked",
                policy.FindRefusal(verification, ImageReference.Parse(Repository + ":v1")));
        }
        // What the older form (SHA-256 of the JWS or of a signature) could not catch: three JWS of other bytes.
        Assert.Equal(3, new[] { first, resigned, malleated }.Select(GoldenValue.JwsDigest).Distinct().Count());
    }

    [Theory]
    [InlineData("all_of")]
    [InlineData("any_of")]
    public void Load_SignerKeyThatIsNotTrusted_RefusedNamingIt(string member)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, $$"""{ "repositories": { "{{Repository}}": { "{{member}}": ["{{_publisher.KeyId}}", "{{_stranger.KeyId}}"] } } }""");

            Assert.Equal($"trust policy {path}: repositories.\"{Repository}\".{member}: key {_stranger.KeyId} is not one of the trusted publisher keys, so no signature by it is ever checked",
                Assert.Throws<FormatException>(() => GoldenTrustPolicy.Load(path, _trusted.KeyIds)).Message);
            Assert.Null(GoldenTrustPolicy.Load(path).FindUntrustedSigner([_publisher.KeyId, _stranger.KeyId]));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string Repository = "registry.example/team/app";

    private GoldenTrustPolicy Rule(string rule) => Parse($$"""{ "repositories": { "{{Repository}}": {{rule}} } }""");

    [Fact]
    public void FindRefusal_AllOfPublisherAndStorePublisherOnly_RefusedNamingTheStore()
    {
        var policy = Rule($$"""{ "all_of": ["{{_publisher.KeyId}}", "{{_store.KeyId}}"] }""");

        Assert.Equal($"missing signature by {_store.KeyId}, which the trust policy requires for {Repository} (all_of)",
            policy.FindRefusal(Verified(Value(Repository + ":v1")), ImageReference.Parse(Repository + ":v1")));
        Assert.Null(policy.FindRefusal(Verified(Value(Repository + ":v1"), _store), ImageReference.Parse(Repository + ":v1")));
    }

    [Fact]
    public void FindRefusal_AnyOf_SatisfiedByEitherRefusedByNeither()
    {
        var policy = Rule($$"""{ "any_of": ["{{_store.KeyId}}", "{{_stranger.KeyId}}"] }""");
        var image = ImageReference.Parse(Repository + ":v1");

        Assert.Null(policy.FindRefusal(Verified(Value(Repository + ":v1"), _store), image));
        Assert.Equal($"missing signature by any of {_store.KeyId}, {_stranger.KeyId}, one of which the trust policy requires for {Repository} (any_of)",
            policy.FindRefusal(Verified(Value(Repository + ":v1")), image));
        Assert.Null(Rule($$"""{ "any_of": ["{{_publisher.KeyId}}", "{{_store.KeyId}}"] }""").FindRefusal(Verified(Value(Repository + ":v1")), image));
    }

    [Fact]
    public void FindRefusal_SignatureByAKeyNotTrusted_IgnoredNotCounted()
    {
        var policy = Rule($$"""{ "all_of": ["{{_stranger.KeyId}}"] }""");
        var verification = Verified(Value(Repository + ":v1"), _stranger);

        Assert.Equal([_publisher.KeyId], verification.Signers);
        Assert.Equal($"missing signature by {_stranger.KeyId}, which the trust policy requires for {Repository} (all_of)",
            policy.FindRefusal(verification, ImageReference.Parse(Repository + ":v1")));
    }

    [Fact]
    public void Verify_TamperedCountersignature_Refused()
    {
        var value = Value(Repository + ":v1");
        var jws = Signed(value, _store);
        using var doc = System.Text.Json.JsonDocument.Parse(jws);
        var signature = doc.RootElement.GetProperty("signatures")[1].GetProperty("signature").GetString()!;
        var tampered = jws.Replace(signature, (signature[0] == 'A' ? "B" : "A") + signature[1..], StringComparison.Ordinal);

        Assert.Equal($"NOT verified: signature by {_store.KeyId} invalid",
            GoldenValueVerifier.Verify(tampered, _trusted, value.ManifestDigest, Created.AddHours(1)).ToString());
    }

    [Fact]
    public void Verify_CompactSingleSignature_StillVerifiesWithThePublisherAsOnlySigner()
    {
        var value = Value(Repository + ":v1");
        var verification = Verify(value.Sign(_publisher), value);

        Assert.Equal([_publisher.KeyId], verification.Signers);
        Assert.Equal(_publisher.KeyId, verification.Value!.PublisherKeyId);
    }

    [Fact]
    public void Verify_Countersigned_EachSignatureVerifiesOnItsOwn()
    {
        var value = Value(Repository + ":v1");
        var signatures = JwsJson.ParseSignatures(Signed(value, _store));

        Assert.Equal([_publisher.KeyId, _store.KeyId], signatures.Select(s => s.KeyId));
        using var publisher = PemPayloadVerifier.FromPem(_publisherKey.ExportSubjectPublicKeyInfoPem());
        using var store = PemPayloadVerifier.FromPem(_storeKey.ExportSubjectPublicKeyInfoPem());
        Assert.True(publisher.Verify(signatures[0].Algorithm, signatures[0].SigningInput, signatures[0].Signature));
        Assert.True(store.Verify(signatures[1].Algorithm, signatures[1].SigningInput, signatures[1].Signature));
        Assert.Equal(value.Sign(_publisher).Split('.')[1], signatures[0].ToCompact().Split('.')[1]);
        Assert.Equal([_publisher.KeyId, _store.KeyId], Verify(Signed(value, _store), value).Signers);
    }

    [Fact]
    public void Countersign_SameKeyTwice_Refused()
    {
        var jws = Signed(Value(Repository + ":v1"), _store);

        Assert.Equal($"key {_store.KeyId} signed this golden value already", Assert.Throws<FormatException>(() => GoldenCountersign.Add(jws, _store)).Message);
    }

    [Theory]
    [InlineData("""{ "mirrors": {} }""", "unknown member 'mirrors'")]
    [InlineData("""{ "revoked": ["md5:abc"] }""", "revoked entry \"md5:abc\" is not a digest")]
    [InlineData("""{ "repositories": { "a/b": { "min_created": "yesterday" } } }""", "repositories.\"a/b\".min_created 'yesterday' is not a UTC time like 2026-01-31T12:00:00Z")]
    [InlineData("""{ "repositories": { "a/b": { "golden_from": ["c/d@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"] } } }""",
        "repositories.\"a/b\".golden_from: 'c/d@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' names a tag or digest; give HOST/REPOSITORY only")]
    [InlineData("""{ "repositories": { "a/b": { "golden_from": "c/d" } } }""", "repositories.\"a/b\".golden_from is String, expected Array")]
    [InlineData("[]", "the policy is Array, expected Object")]
    [InlineData("""{ "repositories": { "a/b": { "all_of": ["publisher.pem"] } } }""",
        "repositories.\"a/b\".all_of: 'publisher.pem' is not a key id (the RFC 7638 thumbprint golden publish prints)")]
    [InlineData("""{ "repositories": { "a/b": { "any_of": [] } } }""", "repositories.\"a/b\".any_of is empty: no signature could satisfy it")]
    public void Parse_Malformed_RefusedWithTheReason(string json, string reason) =>
        Assert.Equal(reason, Assert.Throws<FormatException>(() => Parse(json)).Message);
}
