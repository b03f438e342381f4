using System.Security.Cryptography;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Verification;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Appraisal;

/// <summary>Appraisal of real swtpm quotes over a real launch PCR. Each test power-cycles the class's TPM.</summary>
public sealed class AppraiserTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    private static readonly string AllowedImage = QuotingNode.ImageDigest(1);
    private static readonly string UnknownImage = QuotingNode.ImageDigest(2);
    private static readonly string PublishedImage = QuotingNode.ImageDigest(3);

    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(
        digests: [AllowedImage], expectedPcrs: new Dictionary<int, string> { [0] = new string('0', 64) }), version: 2);

    [Fact]
    public async Task Appraise_GoodLog_Attested()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");

        var outcome = await AppraiseAsync(node, AppraisalState.Initial);

        Assert.True(outcome.IsAttested, outcome.Reason);
        Assert.Equal(4, outcome.EventsVerified);
        Assert.Equal(4, outcome.State!.NextRecNum);
    }

    [Fact]
    public async Task Appraise_EventsAppendedAfterAttestation_StillAttestedIncrementally()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var first = await AppraiseAsync(node, AppraisalState.Initial);

        var golden = TestEvents.SignGolden(PublishedImage);
        await node.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(PublishedImage, golden), golden);
        await node.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c2", PublishedImage));
        await node.MeasureAsync(LaunchEvents.ContainerStopped, """{"container":"c1","exit_code":0}""");
        var second = await AppraiseAsync(node, first.State!);

        Assert.True(second.IsAttested, second.Reason);
        Assert.Equal(3, second.EventsVerified);
        Assert.Equal(7, second.State!.NextRecNum);
        Assert.Contains(PublishedImage, second.State.VerifiedImages);
        // Each appraisal names the launches of its own new events only (the dashboard's timeline).
        Assert.Equal([new VerifiedLaunch(2, "c1", AllowedImage, "registry/app:1", "", "")], first.Launches!);
        Assert.Equal([new VerifiedLaunch(5, "c2", PublishedImage, "registry/app:1", "", "")], second.Launches!);
    }

    [Fact]
    public async Task Appraise_UnknownImage_FailedWithEventIndex()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        await node.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c2", UnknownImage));

        var outcome = await AppraiseAsync(node, AppraisalState.Initial);

        Assert.Equal(AppraisalFailure.Policy, outcome.Failure);
        Assert.Equal($"event 4 (ContainerCreated): image {UnknownImage} is not allowed by policy 'prod' v2", outcome.Reason);
        Assert.Equal(4, outcome.EventIndex);
    }

    // The event's publisher member used to be believed; now the golden value's signature decides.
    [Fact]
    public async Task Appraise_ImageFromUntrustedPublisher_FailedWithEventIndex()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        using var someoneElse = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var golden = TestEvents.SignGolden(UnknownImage, someoneElse);
        await node.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(UnknownImage, golden, publisher: TestPolicies.PublisherKeyId), golden);

        var outcome = await AppraiseAsync(node, AppraisalState.Initial);

        Assert.Equal($"event 0 (ImageVerified): golden value NOT verified: untrusted publisher key {Jose.Jwk.ThumbprintOf(someoneElse)}", outcome.Reason);
        Assert.Equal(0, outcome.EventIndex);
    }

    [Fact]
    public async Task Appraise_GoldenValueExpiredWhenTheRecordArrived_Failed()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        var expires = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var golden = TestEvents.SignGolden(PublishedImage, created: expires.AddDays(-30), expires: expires);
        await node.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(PublishedImage, golden), golden);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);

        var before = Appraise(node, nonce, evidence, receivedAt: expires.AddSeconds(-1));
        var after = Appraise(node, nonce, evidence, receivedAt: expires.AddSeconds(1));

        Assert.True(before.IsAttested, before.Reason);
        Assert.Equal("event 0 (ImageVerified): golden value NOT verified: expired at 2026-06-01T12:00:00Z", after.Reason);
    }

    [Fact]
    public async Task Appraise_ContainersTrackedAcrossIncrementalReplays_UnknownContainerFailed()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var first = await AppraiseAsync(node, AppraisalState.Initial);
        await node.MeasureAsync(LaunchEvents.ContainerStopped, """{"container":"c1","exit_code":0}""");
        await node.MeasureAsync(LaunchEvents.ContainerDeleted, TestEvents.Container("c1"));
        var second = await AppraiseAsync(node, first.State!);
        var started = await node.MeasureAsync(LaunchEvents.ContainerStarted, TestEvents.Container("c1"));

        var third = await AppraiseAsync(node, second.State!);

        Assert.Equal(["c1"], first.State!.CreatedContainers.Keys);
        Assert.True(second.IsAttested, second.Reason);
        Assert.Empty(second.State!.CreatedContainers);
        Assert.Equal("event 6 (ContainerStarted): container 'c1' was not created earlier in this boot's log", third.Reason);
        Assert.Equal(started.RecNum, third.EventIndex);
    }

    [Fact]
    public async Task Appraise_TpmReset_ContainersOfTheOldBootForgotten()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var before = await AppraiseAsync(node, AppraisalState.Initial);

        await node.RebootAsync();
        await node.MeasureAsync(LaunchEvents.ContainerStopped, """{"container":"c1","exit_code":0}""");
        var after = await AppraiseAsync(node, before.State!, since: 0);

        Assert.Equal(["c1"], before.State!.CreatedContainers.Keys);
        Assert.Equal("event 0 (ContainerStopped): container 'c1' was not created earlier in this boot's log", after.Reason);
    }

    [Fact]
    public async Task Appraise_UnknownOperation_FailedOutOfPolicy()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await node.MeasureAsync("ContainerTeleported", TestEvents.Container("c1"));

        var outcome = await AppraiseAsync(node, AppraisalState.Initial);

        Assert.Equal("event 0: operation 'ContainerTeleported' is unknown, out of policy 'prod' v2", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_NamespaceNotAllowed_Failed()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await node.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", AllowedImage, "kube-system"));
        var policy = TestPolicies.Compile(TestPolicies.Document(digests: [AllowedImage], namespaces: ["apps"]));

        var outcome = await AppraiseAsync(node, AppraisalState.Initial, policy);

        Assert.Equal("event 0 (ContainerCreated): namespace 'kube-system' is not allowed by policy 'prod' v1", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_ExpectedPcrDiffers_Failed()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        var policy = TestPolicies.Compile(TestPolicies.Document(expectedPcrs: new Dictionary<int, string> { [0] = new string('1', 64) }));

        var outcome = await AppraiseAsync(node, AppraisalState.Initial, policy);

        Assert.Equal(AppraisalFailure.PcrMismatch, outcome.Failure);
        Assert.Equal($"PCR 0 is {new string('0', 64)}, policy 'prod' v1 expects {new string('1', 64)}", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_RecordEdited_BrokenChain()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);
        var edited = evidence.Events[2] with { Content = evidence.Events[2].Content.Replace("c1", "c9", StringComparison.Ordinal) };

        var outcome = Appraise(node, nonce, evidence with { Events = [.. evidence.Events.Select(e => e.RecNum == 2 ? edited : e)] });

        Assert.Equal(AppraisalFailure.LogChain, outcome.Failure);
        Assert.Equal("broken evidence chain: digest mismatch at recnum 2: the sha256 digest is not SHA-256 of the content", outcome.Reason);
        Assert.Equal(2, outcome.EventIndex);
    }

    [Fact]
    public async Task Appraise_RecordEditedWithMatchingDigest_LogDoesNotReplay()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);
        var line = evidence.Events[2].Content.Replace("c1", "c9", StringComparison.Ordinal);
        var forged = evidence.Events[2] with
        {
            Content = line,
            Digests = [new CelDigest("sha256", Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(line))))],
        };

        var outcome = Appraise(node, nonce, evidence with { Events = [.. evidence.Events.Select(e => e.RecNum == 2 ? forged : e)] });

        Assert.StartsWith("broken evidence chain: final value mismatch for PCR 11 ", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_RecordDropped_BrokenChain()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);

        var outcome = Appraise(node, nonce, evidence with { Events = [.. evidence.Events.Where(e => e.RecNum != 1)], LogLength = 3 });

        Assert.Equal("broken evidence chain: gap or re-order: expected recnum 1, found 2", outcome.Reason);
        Assert.Equal(2, outcome.EventIndex);
    }

    [Fact]
    public async Task Appraise_RecordsReordered_BrokenChain()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);
        // Swap the contents and digests of records 1 and 2 but keep recnums in order: only the replay can tell.
        var e = evidence.Events;
        CelRecord[] reordered = [e[0], e[2] with { RecNum = 1 }, e[1] with { RecNum = 2 }, e[3]];

        var outcome = Appraise(node, nonce, evidence with { Events = reordered });

        Assert.StartsWith("broken evidence chain: final value mismatch for PCR 11 ", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_LogTruncated_BrokenChain()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);

        var outcome = Appraise(node, nonce, evidence with { Events = [.. evidence.Events.Take(3)], LogLength = 3 });

        Assert.Equal(AppraisalFailure.LogChain, outcome.Failure);
        Assert.StartsWith("broken evidence chain: final value mismatch for PCR 11 ", outcome.Reason);
        Assert.Null(outcome.EventIndex);
    }

    [Fact]
    public async Task Appraise_ReplayedNonce_Refused()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var oldEvidence = await node.QuoteAsync(RandomNumberGenerator.GetBytes(32), Appraiser.SelectionFor(_policy), 0);

        var outcome = Appraise(node, RandomNumberGenerator.GetBytes(32), oldEvidence);

        Assert.Equal(AppraisalFailure.Nonce, outcome.Failure);
        Assert.Equal("quote nonce does not match", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_AkSwapped_Refused()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);
        var other = await node.CreateOtherAkAsync();
        using var otherKey = AkPublicKeys.Load(other.Public.ToTpm2bPublic());

        var outcome = Appraiser.Appraise(new AppraisalInput("node-1", otherKey, nonce, _policy, AppraisalState.Initial, evidence, DateTimeOffset.UtcNow));

        Assert.Equal(AppraisalFailure.Quote, outcome.Failure);
        Assert.Equal("quote is not signed by the registered AK: signature invalid", outcome.Reason);
    }

    [Fact]
    public async Task Appraise_TpmReset_HandledAsReboot()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await LaunchAsync(node, AllowedImage, "c1");
        var before = await AppraiseAsync(node, AppraisalState.Initial);
        Assert.True(before.IsAttested, before.Reason);

        await node.RebootAsync();
        await LaunchAsync(node, AllowedImage, "c2");
        var fromOldOffset = await AppraiseAsync(node, before.State!, since: before.State!.NextRecNum);
        var fromZero = await AppraiseAsync(node, before.State!, since: 0);

        Assert.True(fromOldOffset.NeedsFullLog);
        Assert.False(fromOldOffset.IsAttested);
        Assert.True(fromZero.IsAttested, fromZero.Reason);
        Assert.True(fromZero.Rebooted);
        Assert.Equal(4, fromZero.State!.NextRecNum);
        Assert.Equal(before.State.LastClock!.ResetCount + 1, fromZero.State.LastClock!.ResetCount);
        Assert.Equal(2, fromZero.State.BootCount);
    }

    [Fact]
    public async Task Appraise_UnsafeClockAfterPowerLoss_AttestedAsReboot()
    {
        // Its own TPM: a power loss counts against the dictionary-attack limit the class's other tests share.
        var ownTpm = new SwtpmFixture();
        await ownTpm.InitializeAsync();
        try
        {
            using var node = await QuotingNode.StartAsync(ownTpm);
            await LaunchAsync(node, AllowedImage, "c1");
            var before = await AppraiseAsync(node, AppraisalState.Initial);
            Assert.True(before.IsAttested, before.Reason);

            await node.PowerLossAsync();
            await LaunchAsync(node, AllowedImage, "c2");
            var after = await AppraiseAsync(node, before.State!, since: 0);

            Assert.False(after.State?.LastClock?.Safe ?? true, "the quote after a power loss should report safe = 0");
            Assert.True(after.IsAttested, after.Reason);
            Assert.True(after.Rebooted);
        }
        finally
        {
            await ownTpm.DisposeAsync();
        }
    }

    [Fact]
    public async Task Appraise_OlderQuoteAfterNewer_NotFresh()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var older = await node.QuoteAsync(nonce, Appraiser.SelectionFor(_policy), 0);
        await Task.Delay(50);
        var newer = await AppraiseAsync(node, AppraisalState.Initial);

        var outcome = Appraise(node, nonce, older, newer.State!);

        Assert.Equal(AppraisalFailure.Freshness, outcome.Failure);
        Assert.Equal("quote is not fresh: clock went backwards", outcome.Reason);
    }

    private static async Task LaunchAsync(QuotingNode node, string digest, string container)
    {
        await node.MeasureAsync(LaunchEvents.ImagePulled, $$"""{"digest":"{{digest}}","image":"registry/app:1"}""");
        var golden = TestEvents.SignGolden(digest);
        await node.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(digest, golden), golden);
        await node.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated(container, digest));
        await node.MeasureAsync(LaunchEvents.ContainerStarted, TestEvents.Container(container));
    }

    private async Task<AppraisalOutcome> AppraiseAsync(QuotingNode node, AppraisalState state, AttestationPolicy? policy = null, long? since = null)
    {
        policy ??= _policy;
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(policy), since ?? state.NextRecNum);
        return Appraise(node, nonce, evidence, state, policy);
    }

    private AppraisalOutcome Appraise(QuotingNode node, byte[] nonce, QuoteEvidence evidence, AppraisalState? state = null, AttestationPolicy? policy = null,
        DateTimeOffset? receivedAt = null)
    {
        using var ak = AkPublicKeys.Load(node.AkPublic);
        return Appraiser.Appraise(new AppraisalInput("node-1", ak, nonce, policy ?? _policy, state ?? AppraisalState.Initial, evidence, receivedAt ?? DateTimeOffset.UtcNow));
    }
}
