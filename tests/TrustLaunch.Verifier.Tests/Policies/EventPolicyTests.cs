using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

/// <summary>Hand-built launch events judged one by one: what the verifier refuses to believe, and the reason it gives.</summary>
public sealed class EventPolicyTests
{
    private static readonly string Published = "sha256:" + new string('1', 64);
    private static readonly string Other = "sha256:" + new string('2', 64);
    private static readonly string ByDigest = "sha256:" + new string('3', 64);
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(digests: [ByDigest]));

    private static string? Judge(AttestationPolicy policy, string operation, string content, EventContext context) =>
        EventPolicy.Evaluate(policy, 5, $"{LaunchEvents.Domain} {operation} {content}", context);

    private static EventContext Context(string? golden = null, DateTimeOffset? at = null, params string[] containers) =>
        new([], containers.Select(c => new KeyValuePair<string, string>(c, ByDigest)), golden is null ? null : new Dictionary<string, string> { [GoldenValue.JwsDigest(golden)] = golden }, at ?? Now);

    [Fact]
    public void ImageVerified_GoldenValueChecksOut_AllowedAndImageRemembered()
    {
        var golden = TestEvents.SignGolden(Published);
        var context = Context(golden);

        Assert.Null(Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), context));
        Assert.Contains(Published, context.VerifiedImages);
        Assert.Null(Judge(_policy, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", Published), context));
    }

    [Fact]
    public void ImageVerified_NoGoldenValueInTheEvidence_Failed()
    {
        var golden = TestEvents.SignGolden(Published);

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), Context());

        Assert.Equal($"event 5 (ImageVerified): the evidence holds no golden value {GoldenValue.JwsDigest(golden)}", reason);
    }

    [Fact]
    public void ImageVerified_EvidenceGoldenValueUnderAnotherDigest_Failed()
    {
        var golden = TestEvents.SignGolden(Published);
        var substitute = TestEvents.SignGolden(Published, created: Now.AddHours(-2));
        var context = new EventContext([], [], new Dictionary<string, string> { [GoldenValue.JwsDigest(golden)] = substitute }, Now);

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), context);

        Assert.Equal($"event 5 (ImageVerified): the evidence's golden value {GoldenValue.JwsDigest(golden)} hashes to {GoldenValue.JwsDigest(substitute)}", reason);
    }

    [Fact]
    public void ImageVerified_SignedByAnUntrustedKeyNamingTheTrustedPublisher_Failed()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var golden = TestEvents.SignGolden(Published, attacker);
        var context = Context(golden);

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden, publisher: TestPolicies.PublisherKeyId), context);

        Assert.Equal($"event 5 (ImageVerified): golden value NOT verified: untrusted publisher key {Jwk.ThumbprintOf(attacker)}", reason);
        Assert.Empty(context.VerifiedImages);
    }

    [Fact]
    public void ImageVerified_TrustedButNotAllowedPublisher_Failed()
    {
        var golden = TestEvents.SignGolden(Published);
        var policy = TestPolicies.Compile(TestPolicies.Document(allowPublisher: false));

        var reason = Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), Context(golden));

        Assert.Equal($"event 5 (ImageVerified): image {Published} (publisher {TestPolicies.PublisherKeyId}) is not allowed by policy 'prod' v1", reason);
    }

    [Fact]
    public void ImageVerified_GoldenValueForAnotherImage_Failed()
    {
        var golden = TestEvents.SignGolden(Published);

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Other, golden), Context(golden));

        Assert.Equal($"event 5 (ImageVerified): golden value NOT verified: manifest digest mismatch: golden value is for {Published}, image is {Other}", reason);
    }

    [Fact]
    public void ImageVerified_GoldenValueVerifiedEarlierThenNamedForAnotherImage_FailedAsTheFirstTime()
    {
        var golden = TestEvents.SignGolden(Published);
        Assert.Null(Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), Context(golden)));

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Other, golden), Context(golden));

        Assert.Equal($"event 5 (ImageVerified): golden value NOT verified: manifest digest mismatch: golden value is for {Published}, image is {Other}", reason);
    }

    [Fact]
    public void ImageVerified_ExpiredOrNotYetValidAtTheEventTime_Failed()
    {
        var created = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var expires = created.AddDays(10);
        var golden = TestEvents.SignGolden(Published, created: created, expires: expires);
        var line = TestEvents.ImageVerified(Published, golden);

        Assert.Null(Judge(_policy, LaunchEvents.ImageVerified, line, Context(golden, created)));
        Assert.Equal("event 5 (ImageVerified): golden value NOT verified: expired at 2026-03-11T00:00:00Z",
            Judge(_policy, LaunchEvents.ImageVerified, line, Context(golden, expires)));
        Assert.Equal("event 5 (ImageVerified): golden value NOT verified: not yet valid",
            Judge(_policy, LaunchEvents.ImageVerified, line, Context(golden, created.AddSeconds(-1))));
    }

    [Fact]
    public void ImageVerified_EventClaimsAnotherPublisherOrRootfs_Failed()
    {
        var golden = TestEvents.SignGolden(Published);
        var rootfs = "sha256:" + new string('9', 64);

        Assert.Equal($"event 5 (ImageVerified): the event names publisher someone-else, but its golden value is signed by {TestPolicies.PublisherKeyId}",
            Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden, publisher: "someone-else"), Context(golden)));
        Assert.Equal($"event 5 (ImageVerified): the event's rootfs {rootfs} is not its golden value's {TestEvents.Rootfs}",
            Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden, rootfs: rootfs), Context(golden)));
    }

    [Fact]
    public void ImageVerified_StoreRequiredByGoldenTrust_JudgedFromTheVerifiersOwnSignersNotTheEvents()
    {
        using var storeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var store = Oci.Signing.PemPayloadSigner.FromPem(storeKey.ExportPkcs8PrivateKeyPem());
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var strangerKeyId = Jwk.ThumbprintOf(stranger);
        var document = TestPolicies.Document();
        var policy = TestPolicies.Compile(document with
        {
            TrustedPublishers = new Dictionary<string, string>(document.TrustedPublishers) { [store.KeyId] = storeKey.ExportSubjectPublicKeyInfoPem() },
            GoldenTrust = JsonDocument.Parse($$"""{"repositories":{"registry/app":{"all_of":["{{TestPolicies.PublisherKeyId}}","{{store.KeyId}}"]""" + "}}}").RootElement,
        });
        var publisherOnly = TestEvents.SignGolden(Published);
        var countersigned = GoldenCountersign.Add(publisherOnly, store).Jws;

        var missing = Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, publisherOnly, signers: [TestPolicies.PublisherKeyId, store.KeyId]), Context(publisherOnly));
        var claimed = Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, countersigned, signers: [TestPolicies.PublisherKeyId, strangerKeyId]), Context(countersigned));
        var both = Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, countersigned, signers: [TestPolicies.PublisherKeyId, store.KeyId]), Context(countersigned));
        var old = Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, countersigned), Context(countersigned));

        Assert.Equal($"event 5 (ImageVerified): the event names signer {store.KeyId}, but its golden value holds no valid signature by that key which policy 'prod' v1 trusts", missing);
        Assert.Equal($"event 5 (ImageVerified): the event names signer {strangerKeyId}, but its golden value holds no valid signature by that key which policy 'prod' v1 trusts", claimed);
        Assert.Null(both);
        Assert.Null(old);
        Assert.Equal($"event 5 (ImageVerified): golden value refused by policy 'prod' v1: missing signature by {store.KeyId}, which the trust policy requires for docker.io/registry/app (all_of)",
            Judge(policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, publisherOnly), Context(publisherOnly)));
    }

    [Fact]
    public void ImageVerified_GoldenValuePublishedForAnotherRepository_FailedUnlessThePolicyNamesItsSource()
    {
        var golden = TestEvents.SignGolden(Published);
        var line = TestEvents.ImageVerified(Published, golden, image: "mirror.example:5000/app:1");
        var mirrors = TestPolicies.Compile(TestPolicies.Document() with
        {
            GoldenTrust = JsonDocument.Parse("""{"repositories":{"mirror.example:5000/app":{"golden_from":["registry/app"]}}}""").RootElement,
        });

        var refused = Judge(_policy, LaunchEvents.ImageVerified, line, Context(golden));
        var allowed = Judge(mirrors, LaunchEvents.ImageVerified, line, Context(golden));

        Assert.Equal("event 5 (ImageVerified): golden value refused by policy 'prod' v1: golden value was published for docker.io/registry/app, " +
            "not mirror.example:5000/app (a trust policy may allow it: repositories.\"mirror.example:5000/app\".golden_from)", refused);
        Assert.Null(allowed);
    }

    [Fact]
    public void ImageVerified_GoldenValueRevokedOrOlderThanTheRepositorysMinimum_Failed()
    {
        var created = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var golden = TestEvents.SignGolden(Published, created: created, expires: created.AddYears(2));
        var revoked = TestPolicies.Compile(TestPolicies.Document() with
        {
            GoldenTrust = JsonDocument.Parse($$"""{"revoked":["{{GoldenValue.JwsDigest(golden)}}"]}""").RootElement,
        });
        var newer = TestPolicies.Compile(TestPolicies.Document() with
        {
            GoldenTrust = JsonDocument.Parse("""{"repositories":{"registry/app":{"min_created":"2026-03-02T00:00:00Z"}}}""").RootElement,
        });
        var line = TestEvents.ImageVerified(Published, golden);

        Assert.Equal($"event 5 (ImageVerified): golden value refused by policy 'prod' v1: golden value {GoldenValue.JwsDigest(golden)} is revoked by the trust policy",
            Judge(revoked, LaunchEvents.ImageVerified, line, Context(golden)));
        Assert.Equal("event 5 (ImageVerified): golden value refused by policy 'prod' v1: golden value created 2026-03-01T00:00:00Z is older than " +
            "2026-03-02T00:00:00Z, the oldest the trust policy accepts for docker.io/registry/app", Judge(newer, LaunchEvents.ImageVerified, line, Context(golden)));
        Assert.Null(Judge(_policy, LaunchEvents.ImageVerified, line, Context(golden)));
    }

    [Fact]
    public void ImageVerified_MalformedGoldenValue_Failed()
    {
        const string golden = "e30.e30.c2ln";

        var reason = Judge(_policy, LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden, publisher: TestPolicies.PublisherKeyId), Context(golden));

        Assert.Equal("event 5 (ImageVerified): golden value NOT verified: malformed golden value: JWS header has no string 'alg'", reason);
    }

    [Fact]
    public void ContainerCreated_ImageOnlyClaimedVerified_Failed()
    {
        var reason = Judge(_policy, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", Published), Context());

        Assert.Equal($"event 5 (ContainerCreated): image {Published} is not allowed by policy 'prod' v1", reason);
    }

    [Theory]
    [InlineData(ContainerIsolation.NetworkHost, ContainerIsolation.SeccompDefault, "container 'c1' uses the host network, which policy 'prod' v1 does not allow (allow_host_network)")]
    [InlineData(ContainerIsolation.NetworkPod, ContainerIsolation.SeccompUnconfined, "container 'c1' runs without seccomp, which policy 'prod' v1 does not allow (allow_unconfined_seccomp)")]
    [InlineData("bridge", ContainerIsolation.SeccompDefault, "network 'bridge' is neither pod nor host")]
    [InlineData(ContainerIsolation.NetworkPod, "custom", "seccomp 'custom' is neither default nor unconfined")]
    public void ContainerCreated_IsolationLooserThanThePolicy_Failed(string network, string seccomp, string expected)
    {
        var context = Context();

        var reason = Judge(_policy, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", ByDigest, network: network, seccomp: seccomp), context);

        Assert.Equal("event 5 (ContainerCreated): " + expected, reason);
        Assert.Empty(context.CreatedContainers);
    }

    [Fact]
    public void ContainerCreated_HostNetworkAndUnconfinedSeccompAllowed_CreatedTracked()
    {
        var policy = TestPolicies.Compile(TestPolicies.Document(digests: [ByDigest], allowHostNetwork: true, allowUnconfinedSeccomp: true));
        var context = Context();

        var reason = Judge(policy, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", ByDigest,
            network: ContainerIsolation.NetworkHost, seccomp: ContainerIsolation.SeccompUnconfined), context);

        Assert.Null(reason);
        Assert.Equal(["c1"], context.CreatedContainers.Keys);
        Assert.Equal(ByDigest, context.CreatedContainers["c1"]);
    }

    [Theory]
    [InlineData("network")]
    [InlineData("seccomp")]
    public void ContainerCreated_WithoutIsolationMember_Failed(string member)
    {
        using var document = System.Text.Json.JsonDocument.Parse(TestEvents.ContainerCreated("c1", ByDigest));
        var content = "{" + string.Join(',', document.RootElement.EnumerateObject().Where(p => p.Name != member).Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}";

        var reason = Judge(_policy, LaunchEvents.ContainerCreated, content, Context());

        Assert.Equal($"event 5 (ContainerCreated): content has no string '{member}'", reason);
    }

    [Theory]
    [InlineData(LaunchEvents.ContainerStarted, """{"container":"ghost"}""")]
    [InlineData(LaunchEvents.ContainerStopped, """{"container":"ghost","exit_code":0}""")]
    [InlineData(LaunchEvents.ContainerDeleted, """{"container":"ghost"}""")]
    [InlineData(LaunchEvents.ContainerExec, """{"command":["ls"],"container":"ghost"}""")]
    public void ContainerEvent_ForAContainerNeverCreated_Failed(string operation, string content)
    {
        var reason = Judge(_policy, operation, content, Context(null, null, "c1"));

        Assert.Equal($"event 5 ({operation}): container 'ghost' was not created earlier in this boot's log", reason);
    }

    [Fact]
    public void ContainerDeleted_ThenStarted_Failed()
    {
        var context = Context(null, null, "c1");

        Assert.Null(Judge(_policy, LaunchEvents.ContainerDeleted, TestEvents.Container("c1"), context));
        Assert.Equal("event 5 (ContainerStarted): container 'c1' was not created earlier in this boot's log",
            Judge(_policy, LaunchEvents.ContainerStarted, TestEvents.Container("c1"), context));
    }

    [Fact]
    public void ContainerCreated_IdWithLineBreak_Failed()
    {
        var reason = Judge(_policy, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("a\\nb", ByDigest), Context());

        Assert.Equal("event 5 (ContainerCreated): container id is empty or holds a control character", reason);
    }

    [Fact]
    public void ContainerExec_DefaultPolicy_AllowedAnyCommand()
    {
        Assert.Null(Judge(_policy, LaunchEvents.ContainerExec, TestEvents.Exec("c1", "/bin/sh", "-c", "id"), Context(null, null, "c1")));
    }

    [Fact]
    public void ContainerExec_Deny_Failed()
    {
        var policy = TestPolicies.Compile(TestPolicies.Document(exec: ExecPolicy.Deny));

        var reason = Judge(policy, LaunchEvents.ContainerExec, TestEvents.Exec("c1", "ls"), Context(null, null, "c1"));

        Assert.Equal("event 5 (ContainerExec): exec of 'ls' in container 'c1': policy 'prod' v1 denies every exec", reason);
    }

    [Fact]
    public void ContainerExec_List_OnlyListedArgv0Allowed()
    {
        var policy = TestPolicies.Compile(TestPolicies.Document(exec: ExecPolicy.Only(["/bin/ls", "cat"])));
        var context = Context(null, null, "c1");

        Assert.Null(Judge(policy, LaunchEvents.ContainerExec, TestEvents.Exec("c1", "/bin/ls", "-l"), context));
        Assert.Equal("event 5 (ContainerExec): exec of 'ls' in container 'c1' is not allowed by policy 'prod' v1 (exec: /bin/ls, cat)",
            Judge(policy, LaunchEvents.ContainerExec, TestEvents.Exec("c1", "ls"), context));
        Assert.Equal("event 5 (ContainerExec): content has no 'command' (a non-empty list of strings)",
            Judge(policy, LaunchEvents.ContainerExec, """{"command":[],"container":"c1"}""", context));
    }
}
