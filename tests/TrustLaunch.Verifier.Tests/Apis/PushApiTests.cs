using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Tests.Apis;

/// <summary>The push-mode endpoints of a real verifier, driven with a real agent's evidence: every refusal, exactly.</summary>
[Trait("Category", "Slow")]
public sealed class PushApiTests(PushVerifierFixture fixture) : IClassFixture<PushVerifierFixture>, IAsyncLifetime
{
    private string AgentId => fixture.AgentId;

    /// <summary>Each test starts from an agent in push mode that may be attested (resumed if a test failed it).</summary>
    public async Task InitializeAsync() => await fixture.Tenant().PauseAgentAsync(AgentId, pause: false);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Attest_ChallengeAnsweredWithItsEvidence_AffirmingAndAttested()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);

        var result = await push.PostEvidenceAsync(AgentId, challenge.ChallengeId, await fixture.QuoteAsync(challenge.Nonce, challenge));

        Assert.Equal((PushAttestationResult.Affirming, null, null), (result.Status, result.Reason, result.EventIndex));
        Assert.Equal(32, challenge.Nonce.Length);
        Assert.Matches("^[0-9a-f]{32}$", challenge.ChallengeId);
        var status = (await fixture.Tenant().GetAgentAsync(AgentId))!;
        Assert.Equal((AgentStates.Attested, AttestationModes.Push), (status.State, status.Mode));
        Assert.True(status.PushDeadline > result.NextAttestationAt);
        Assert.Equal(EarToken.Affirming, (await fixture.Tenant().GetResultsAsync(AgentId, 1))[0].Status);
    }

    [Fact]
    public async Task Challenge_NoClientCertificate_Forbidden()
    {
        using var handler = new SocketsHttpHandler
        {
            // This test only checks the verifier's answer, so it takes the server certificate on trust.
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{fixture.VerifierPort}/") };

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => new PushAttestationClient(http).RequestChallengeAsync(AgentId));

        Assert.Equal((HttpStatusCode.Forbidden, $"no client certificate: agent '{AgentId}' must present the TLS certificate it registered"), (e.Status, e.Detail));
    }

    [Fact]
    public async Task ChallengeAndEvidence_AnotherAgentsCertificate_Forbidden()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(challenge.Nonce, challenge);
        var other = fixture.Push(PushVerifierFixture.OtherAgent);

        var asked = await Assert.ThrowsAsync<ServiceProblemException>(() => other.RequestChallengeAsync(AgentId));
        var posted = await Assert.ThrowsAsync<ServiceProblemException>(() => other.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence));

        var expected = (HttpStatusCode.Forbidden, $"the caller's TLS certificate is not the one agent '{AgentId}' registered");
        Assert.Equal(expected, (asked.Status, asked.Detail));
        Assert.Equal(expected, (posted.Status, posted.Detail));
        Assert.Equal(PushAttestationResult.Affirming, (await push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence)).Status);
    }

    [Fact]
    public async Task Challenge_AgentNotUnderAttestationOrInPullMode_NotFound()
    {
        var tenant = fixture.Tenant();
        var push = fixture.Push();
        await tenant.RemoveAgentAsync(AgentId);
        try
        {
            var removed = await Assert.ThrowsAsync<ServiceProblemException>(() => push.RequestChallengeAsync(AgentId));
            await tenant.AddAgentAsync(new AddAgentRequest(AgentId, "prod", null));
            var pull = await Assert.ThrowsAsync<ServiceProblemException>(() => push.RequestChallengeAsync(AgentId));

            Assert.Equal((HttpStatusCode.NotFound, $"agent '{AgentId}' is not under attestation"), (removed.Status, removed.Detail));
            Assert.Equal((HttpStatusCode.NotFound, $"agent '{AgentId}' is attested in pull mode: the verifier polls it"), (pull.Status, pull.Detail));
        }
        finally
        {
            await tenant.RemoveAgentAsync(AgentId);
            await tenant.AddAgentAsync(new AddAgentRequest(AgentId, "prod", null, AttestationModes.Push));
        }
    }

    [Fact]
    public async Task Evidence_PostedTwice_SecondRefusedAndOneResult()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(challenge.Nonce, challenge);
        var before = (await fixture.Tenant().GetAgentAsync(AgentId))!.Attestations;

        await push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence);
        var replay = await Assert.ThrowsAsync<ServiceProblemException>(() => push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence));

        Assert.Equal((HttpStatusCode.Conflict, $"challenge '{challenge.ChallengeId}' was already used"), (replay.Status, replay.Detail));
        Assert.Equal(before + 1, (await fixture.Tenant().GetAgentAsync(AgentId))!.Attestations);
    }

    [Fact]
    public async Task Evidence_PostedTwiceAtOnce_OneResultOneRefusal()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(challenge.Nonce, challenge);
        var before = (await fixture.Tenant().GetAgentAsync(AgentId))!.Attestations;

        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            try
            {
                return (await push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence)).Status;
            }
            catch (ServiceProblemException e)
            {
                return $"{(int)e.Status} {e.Detail}";
            }
        }));

        Assert.Equal([$"409 challenge '{challenge.ChallengeId}' was already used", PushAttestationResult.Affirming], answers.Order(StringComparer.Ordinal));
        Assert.Equal(before + 1, (await fixture.Tenant().GetAgentAsync(AgentId))!.Attestations);
    }

    [Fact]
    public async Task Evidence_ReplacedOrUnknownChallenge_Conflict()
    {
        var push = fixture.Push();
        var first = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(first.Nonce, first);
        await push.RequestChallengeAsync(AgentId);

        var replaced = await Assert.ThrowsAsync<ServiceProblemException>(() => push.PostEvidenceAsync(AgentId, first.ChallengeId, evidence));

        Assert.Equal((HttpStatusCode.Conflict, $"challenge '{first.ChallengeId}' is not the outstanding challenge of agent '{AgentId}'"),
            (replaced.Status, replaced.Detail));
    }

    [Fact]
    public async Task Evidence_AfterChallengeExpired_Gone()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(challenge.Nonce, challenge);
        while (DateTimeOffset.UtcNow <= challenge.ExpiresAt)
            await Task.Delay(100);

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence));

        Assert.Equal((HttpStatusCode.Gone, $"challenge '{challenge.ChallengeId}' expired at {challenge.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}"),
            (e.Status, e.Detail));
    }

    [Fact]
    public async Task Evidence_SignedOverAnotherNonce_FailedAsInPullModeAndNoMoreChallenges()
    {
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = await fixture.QuoteAsync(RandomNumberGenerator.GetBytes(32), challenge);

        var result = await push.PostEvidenceAsync(AgentId, challenge.ChallengeId, evidence);
        var next = await Assert.ThrowsAsync<ServiceProblemException>(() => push.RequestChallengeAsync(AgentId));

        Assert.Equal((PushAttestationResult.Contraindicated, "quote nonce does not match"), (result.Status, result.Reason));
        var status = (await fixture.Tenant().GetAgentAsync(AgentId))!;
        Assert.Equal((AgentStates.Failed, "quote nonce does not match"), (status.State, status.FailureReason));
        Assert.Equal((HttpStatusCode.Conflict, $"agent '{AgentId}' failed attestation (quote nonce does not match) and waits to be resumed"),
            (next.Status, next.Detail));
    }

    [Fact]
    public async Task Evidence_AfterTpmReset_RetryThenChallengeFromRecordZeroAffirming()
    {
        var push = fixture.Push();
        await fixture.Deployment.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", PushVerifierFixture.AllowedImage));
        var before = await push.RequestChallengeAsync(AgentId);
        Assert.Equal(PushAttestationResult.Affirming, (await push.PostEvidenceAsync(AgentId, before.ChallengeId, await fixture.QuoteAsync(before.Nonce, before))).Status);

        // The node reboots: the TPM is reset and the agent starts a new boot segment of its log.
        await fixture.Deployment.Agent!.StopAsync();
        await fixture.Deployment.Swtpm.RestartAsync();
        await fixture.Deployment.StartAgentAsync();
        var incremental = await push.RequestChallengeAsync(AgentId);
        var retry = await push.PostEvidenceAsync(AgentId, incremental.ChallengeId, await fixture.QuoteAsync(incremental.Nonce, incremental));
        var full = await push.RequestChallengeAsync(AgentId);
        var result = await push.PostEvidenceAsync(AgentId, full.ChallengeId, await fixture.QuoteAsync(full.Nonce, full));

        Assert.True(incremental.Since > 0);
        Assert.Equal((PushAttestationResult.Retry, "the TPM was reset: the log must be read from record 0"), (retry.Status, retry.Reason));
        Assert.Equal(0, full.Since);
        Assert.Equal(PushAttestationResult.Affirming, result.Status);
        Assert.Equal(AgentStates.Attested, (await fixture.Tenant().GetAgentAsync(AgentId))!.State);
    }

    [Theory]
    [InlineData("content", "The constructor parameter 'Content' on type 'TrustLaunch.Measurement.CelRecord' doesn't allow null values.")]
    [InlineData("digest", "The constructor parameter 'Digest' on type 'TrustLaunch.Measurement.CelDigest' doesn't allow null values.")]
    public async Task Evidence_NullMemberInARecord_FailedAsMalformedEvidence(string member, string expected)
    {
        // A well-formed event within policy (the fixture's agent is shared): only the member nulled on the way is wrong.
        await fixture.Deployment.MeasureAsync(LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c-null", PushVerifierFixture.AllowedImage));
        var push = fixture.Push();
        var challenge = await push.RequestChallengeAsync(AgentId);
        var evidence = System.Text.Json.Nodes.JsonNode.Parse(
            System.Text.Json.JsonSerializer.Serialize(await fixture.QuoteAsync(challenge.Nonce, challenge), ContractsJsonContext.Default.QuoteEvidence))!;
        var record = evidence["events"]![0]!;
        (member == "digest" ? record["digests"]![0]! : record)[member] = null;

        using var http = fixture.PushHttp();
        using var response = await http.PostAsync($"v1/agents/{AgentId}/attestations/{challenge.ChallengeId}",
            new StringContent(evidence.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var result = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.PushAttestationResult))!;

        var path = member == "digest" ? "$.events[0].digests[0].digest" : "$.events[0].content";
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(PushAttestationResult.Contraindicated, result.Status);
        Assert.StartsWith($"malformed evidence: {expected}", result.Reason);
        Assert.Contains($"Path: {path}", result.Reason, StringComparison.Ordinal);
        var status = (await fixture.Tenant().GetAgentAsync(AgentId))!;
        Assert.Equal((AgentStates.Failed, result.Reason), (status.State, status.FailureReason));
    }

    [Fact]
    public async Task Evidence_PlainJsonOnTheWire_SnakeCaseContract()
    {
        using var http = fixture.PushHttp();
        using var asked = await http.PostAsync($"v1/agents/{AgentId}/attestations", null);
        var challenge = await asked.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();

        Assert.Equal(HttpStatusCode.Created, asked.StatusCode);
        Assert.Equal(["challenge_id", "nonce", "pcrs", "since", "expires_at"], challenge.EnumerateObject().Select(p => p.Name));
        Assert.Equal(32, Convert.FromBase64String(challenge.GetProperty("nonce").GetString()!).Length);
    }
}
