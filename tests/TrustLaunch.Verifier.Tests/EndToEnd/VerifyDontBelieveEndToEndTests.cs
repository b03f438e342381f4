using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Golden;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>
/// Root on a node posts events to the agent's socket behind the launcher's back; real agent and verifier processes,
/// each agent on its own swtpm. The verifier believes none of the node's conclusions: it checks each ImageVerified's
/// golden value itself, tracks containers through the log, and judges execs and isolation against the policy.
/// </summary>
[Trait("Category", "Slow")]
public sealed class VerifyDontBelieveEndToEndTests(AttestationProcesses processes) : IClassFixture<AttestationProcesses>
{
    private static readonly string Published = "sha256:" + new string('1', 64);
    private static readonly string Evil = "sha256:" + new string('e', 64);
    private static readonly string ByDigest = "sha256:" + new string('3', 64);

    private static PolicyDocument Policy(string name, ExecPolicy? exec = null) =>
        TestPolicies.Document(name: name, digests: [ByDigest], exec: exec);

    [Fact]
    public async Task ForgedImageVerifiedAndContainerCreated_NamingTheTrustedPublisher_Failed()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("forged"));
        // A genuine verified launch first: its golden value reaches the verifier with the evidence, and it passes.
        var golden = TestEvents.SignGolden(Published);
        await agent.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), golden);
        var created = await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("web", Published));
        var genuine = await agent.JudgedAsync(created);
        Assert.Equal((AgentStates.Attested, null), (genuine.State, genuine.FailureReason));

        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forgedGolden = TestEvents.SignGolden(Evil, attacker);
        var forged = await agent.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Evil, forgedGolden, publisher: TestPolicies.PublisherKeyId), forgedGolden);
        await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("intruder", Evil));
        var failed = await agent.WaitForAsync(s => s.State == AgentStates.Failed);

        Assert.Equal(($"event {forged} (ImageVerified): golden value NOT verified: untrusted publisher key {Jwk.ThumbprintOf(attacker)}", forged),
            (failed.FailureReason, failed.FailedEventIndex));
    }

    [Fact]
    public async Task ImageVerified_GoldenValueExpiredWhenMeasured_Failed()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("expired"));
        var expires = DateTimeOffset.UtcNow.AddDays(-1);
        var golden = TestEvents.SignGolden(Published, created: expires.AddDays(-30), expires: expires);

        var recnum = await agent.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), golden);
        var failed = await agent.WaitForAsync(s => s.State == AgentStates.Failed);

        Assert.Equal($"event {recnum} (ImageVerified): golden value NOT verified: expired at {expires.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", failed.FailureReason);
    }

    [Fact]
    public async Task ImageVerified_GoldenValueOfAnotherImage_Failed()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("other-digest"));
        var golden = TestEvents.SignGolden(Published);

        var recnum = await agent.MeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Evil, golden), golden);
        await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("intruder", Evil));
        var failed = await agent.WaitForAsync(s => s.State == AgentStates.Failed);

        Assert.Equal($"event {recnum} (ImageVerified): golden value NOT verified: manifest digest mismatch: golden value is for {Published}, image is {Evil}",
            failed.FailureReason);
    }

    [Fact]
    public async Task Agent_ImageVerifiedWithoutOrWithTheWrongGoldenValue_Refused400AndNothingMeasured()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("agent-refuses"));
        var golden = TestEvents.SignGolden(Published);
        var other = TestEvents.SignGolden(Evil);

        using var missing = await agent.PostMeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden));
        using var mismatched = await agent.PostMeasureAsync(LaunchEvents.ImageVerified, TestEvents.ImageVerified(Published, golden), other);
        using var misplaced = await agent.PostMeasureAsync(LaunchEvents.ContainerStarted, TestEvents.Container("web"), golden);

        Assert.Equal((HttpStatusCode.BadRequest, "ImageVerified needs golden_value: the JWS of the golden value the image was checked against"),
            await ProblemAsync(missing));
        Assert.Equal((HttpStatusCode.BadRequest, $"golden_value hashes to {GoldenValue.JwsDigest(other)}, but the event's golden is {GoldenValue.JwsDigest(golden)}"),
            await ProblemAsync(mismatched));
        Assert.Equal((HttpStatusCode.BadRequest, "golden_value belongs to ImageVerified only, not ContainerStarted"), await ProblemAsync(misplaced));
        var recnum = await agent.MeasureAsync(LaunchEvents.ImagePulled, $$"""{"digest":"{{Published}}","image":"registry/app:1"}""");
        Assert.Equal(0, recnum);
    }

    [Fact]
    public async Task ContainerStarted_ForAContainerNeverCreated_Failed()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("unknown-container"));
        await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("web", ByDigest));
        var started = await agent.MeasureAsync(LaunchEvents.ContainerStarted, TestEvents.Container("web"));
        Assert.Equal(AgentStates.Attested, (await agent.JudgedAsync(started)).State);

        var ghost = await agent.MeasureAsync(LaunchEvents.ContainerStarted, TestEvents.Container("ghost"));
        var failed = await agent.WaitForAsync(s => s.State == AgentStates.Failed);

        Assert.Equal(($"event {ghost} (ContainerStarted): container 'ghost' was not created earlier in this boot's log", ghost), (failed.FailureReason, failed.FailedEventIndex));
    }

    [Fact]
    public async Task ContainerExec_ListedCommandAttestedOtherFailed_DenyFailsAny()
    {
        var listed = await processes.StartAttestedAgentAsync(Policy("exec-list", ExecPolicy.Only(["/bin/ls"])));
        var denied = await processes.StartAttestedAgentAsync(Policy("exec-deny", ExecPolicy.Deny));
        foreach (var agent in new[] { listed, denied })
            await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("web", ByDigest));

        var ls = await listed.MeasureAsync(LaunchEvents.ContainerExec, TestEvents.Exec("web", "/bin/ls", "/"));
        Assert.Equal(AgentStates.Attested, (await listed.JudgedAsync(ls)).State);
        var shell = await listed.MeasureAsync(LaunchEvents.ContainerExec, TestEvents.Exec("web", "/bin/sh"));
        var anything = await denied.MeasureAsync(LaunchEvents.ContainerExec, TestEvents.Exec("web", "/bin/ls"));

        Assert.Equal($"event {shell} (ContainerExec): exec of '/bin/sh' in container 'web' is not allowed by policy 'exec-list' v{listed.PolicyVersion} (exec: /bin/ls)",
            (await listed.WaitForAsync(s => s.State == AgentStates.Failed)).FailureReason);
        Assert.Equal($"event {anything} (ContainerExec): exec of '/bin/ls' in container 'web': policy 'exec-deny' v{denied.PolicyVersion} denies every exec",
            (await denied.WaitForAsync(s => s.State == AgentStates.Failed)).FailureReason);
    }

    [Fact]
    public async Task ContainerCreated_HostNetworkNotAllowed_Failed()
    {
        var agent = await processes.StartAttestedAgentAsync(Policy("host-network"));

        var recnum = await agent.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("web", ByDigest, network: ContainerIsolation.NetworkHost));
        var failed = await agent.WaitForAsync(s => s.State == AgentStates.Failed);

        Assert.Equal($"event {recnum} (ContainerCreated): container 'web' uses the host network, which policy 'host-network' v{agent.PolicyVersion} does not allow (allow_host_network)",
            failed.FailureReason);
    }

    private static async Task<(HttpStatusCode, string?)> ProblemAsync(HttpResponseMessage response)
    {
        var problem = await Assert.ThrowsAsync<ServiceProblemException>(() => ServiceProblemException.EnsureSuccessAsync(response, "agent", CancellationToken.None));
        return (problem.Status, problem.Detail);
    }
}
