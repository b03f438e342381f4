using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Verification;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Appraisal;

/// <summary>Evidence the appraisal cannot get through fails the agent, whatever throws inside it (real swtpm quotes).</summary>
public sealed class MalformedEvidenceTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    [Fact]
    public async Task Appraise_EvidenceWithoutEvents_FailedAsMalformedEvidence()
    {
        using var node = await QuotingNode.StartAsync(tpm);
        await node.MeasureAsync(TrustLaunch.Measurement.LaunchEvents.ContainerStarted, TestEvents.Container("c1"));
        var policy = TestPolicies.Compile(TestPolicies.Document());
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = await node.QuoteAsync(nonce, Appraiser.SelectionFor(policy), 0);
        using var ak = AkPublicKeys.Load(node.AkPublic);
        var agent = AgentRecord.New("node-1", "127.0.0.1:1", policy.Name, policy.Version);

        var appraised = EvidenceRecorder.Appraise(agent, ak, nonce, policy, evidence with { Events = null! }, DateTimeOffset.UtcNow);

        Assert.False(appraised.Outcome.IsAttested);
        Assert.Equal((AppraisalFailure.Evidence, "malformed evidence: Object reference not set to an instance of an object."),
            (appraised.Outcome.Failure, appraised.Outcome.Reason));
    }
}
