using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Push;

/// <summary>
/// Push mode, for agents the verifier cannot reach: the agent asks for a challenge (nonce, PCR selection, first log
/// record wanted, expiry; one outstanding per agent, kept in the store so any instance can take the evidence) and
/// posts its evidence, which is appraised and recorded exactly as in pull mode by <see cref="EvidenceRecorder"/>; the
/// challenge is consumed in the transaction that records the result. Both calls must come with the TLS certificate the
/// agent registered.
/// </summary>
public sealed class PushAttestation(
    IVerifierStore store,
    AgentConnections connections,
    PolicyCache policies,
    EvidenceRecorder recorder,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time)
{
    private const int ChallengeIdBytes = 16;

    public async Task<(AttestationChallenge? Challenge, PushRefusal? Refusal)> ChallengeAsync(string agentId, X509Certificate2? caller,
        CancellationToken cancellationToken)
    {
        var (agent, refusal) = await AuthorizeAsync(agentId, caller, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return (null, refusal);
        if (agent.Paused)
            return (null, PushRefusal.Conflict("agent paused", $"agent '{agentId}' is paused at the verifier"));
        if (agent.State == AgentStates.Failed)
            return (null, PushRefusal.Conflict("agent failed", $"agent '{agentId}' failed attestation ({agent.FailureReason}) and waits to be resumed"));
        if (await policies.GetLatestAsync(agent.PolicyName, cancellationToken).ConfigureAwait(false) is not { } stored)
            return (null, NoPolicy(agent));
        var now = time.GetUtcNow();
        var challenge = new StoredChallenge(agentId, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(ChallengeIdBytes)), EvidenceRecorder.NewNonce(),
            Appraiser.SelectionFor(policies.Get(stored)), agent.Appraisal.NextRecNum, now, now + options.AgentTimeout, Consumed: false);
        var issued = await store.IssueChallengeAsync(challenge, cancellationToken).ConfigureAwait(false);
        return issued is null ? (null, NotUnderAttestation(agentId)) : (issued.ToContract(), null);
    }

    /// <summary>
    /// Appraises and records the evidence posted for <paramref name="challengeId"/>. The body is read only once the
    /// caller is known to be the agent and the challenge is live: evidence that does not read as
    /// <see cref="QuoteEvidence"/> (a null or missing member) fails the agent like evidence that does not appraise.
    /// </summary>
    public async Task<(PushAttestationResult? Result, PushRefusal? Refusal)> AttestAsync(string agentId, string challengeId, Stream body,
        X509Certificate2? caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var (agent, challenge, stored, refusal) = await OpenChallengeAsync(agentId, challengeId, caller, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return (null, refusal);
        QuoteEvidence evidence;
        try
        {
            evidence = await JsonSerializer.DeserializeAsync(body, ContractsJsonContext.Default.QuoteEvidence, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException("the evidence is null");
        }
        catch (JsonException e)
        {
            return await RecordAsync(agent, challenge!, stored!, EvidenceRecorder.Malformed(agent, e), cancellationToken).ConfigureAwait(false);
        }
        RegisteredKeys keys;
        try
        {
            keys = await connections.GetKeysAsync(agentId, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentNotRegisteredException e)
        {
            return (null, PushRefusal.Forbidden(e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException and not HttpRequestException and not ServiceProblemException)
        {
            // The registered AK or certificate cannot be used: no evidence from this agent can be trusted.
            return await RecordAsync(agent, challenge!, stored!, EvidenceRecorder.Malformed(agent, e), cancellationToken).ConfigureAwait(false);
        }

        var appraised = EvidenceRecorder.Appraise(agent, keys.AkPublicKey, challenge!.Nonce, policies.Get(stored!), evidence, time.GetUtcNow());
        if (appraised.Outcome.NeedsFullLog)
        {
            return await store.RequestFullLogAsync(agentId, challengeId, cancellationToken).ConfigureAwait(false)
                ? (new PushAttestationResult(PushAttestationResult.Retry, appraised.Outcome.Reason, null, time.GetUtcNow()), null)
                : (null, Used(challengeId));
        }
        return await RecordAsync(agent, challenge, stored!, appraised, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The agent answers its challenge with a problem instead of evidence: its launch log and PCR disagree (it cannot
    /// quote a log that replays). Recorded as in pull mode: Failed, <c>log and PCR disagree: DETAIL</c>.
    /// </summary>
    public async Task<(PushAttestationResult? Result, PushRefusal? Refusal)> ReportProblemAsync(string agentId, string challengeId, AgentProblem problem,
        X509Certificate2? caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var (agent, challenge, stored, refusal) = await OpenChallengeAsync(agentId, challengeId, caller, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return (null, refusal);
        if (problem.Type != ProblemTypes.LogPcrDisagree)
            return (null, new PushRefusal(StatusCodes.Status400BadRequest, "unknown problem type", $"problem type '{problem.Type}' is not one an agent reports"));
        return await RecordAsync(agent, challenge!, stored!, EvidenceRecorder.Disagreement(agent, problem.Detail), cancellationToken).ConfigureAwait(false);
    }

    private async Task<(PushAttestationResult? Result, PushRefusal? Refusal)> RecordAsync(AgentRecord agent, StoredChallenge challenge, StoredPolicy stored,
        AppraisedEvidence appraised, CancellationToken cancellationToken)
    {
        var next = time.GetUtcNow() + options.QuoteInterval;
        var saved = await recorder.RecordAsync(agent, stored, appraised, new PushReceipt(challenge.ChallengeId, next + options.PushGrace), cancellationToken)
            .ConfigureAwait(false);
        if (saved is null)
            return (null, Used(challenge.ChallengeId));
        metrics.AttestationCommitted(time.GetUtcNow() - challenge.IssuedAt);
        return (new PushAttestationResult(saved.Result.Status, saved.Result.Reason, saved.Result.EventIndex, next), null);
    }

    /// <summary>The caller is the agent, <paramref name="challengeId"/> its outstanding, unused, unexpired challenge, and its policy exists.</summary>
    private async Task<(AgentRecord? Agent, StoredChallenge? Challenge, StoredPolicy? Policy, PushRefusal? Refusal)> OpenChallengeAsync(string agentId,
        string challengeId, X509Certificate2? caller, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await AuthorizeAsync(agentId, caller, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return (null, null, null, refusal);
        var challenge = await store.GetChallengeAsync(agentId, cancellationToken).ConfigureAwait(false);
        if (challenge is null || challenge.ChallengeId != challengeId)
            return (null, null, null, PushRefusal.Conflict("unknown challenge", $"challenge '{challengeId}' is not the outstanding challenge of agent '{agentId}'"));
        if (challenge.Consumed)
            return (null, null, null, Used(challengeId));
        if (time.GetUtcNow() >= challenge.ExpiresAt)
        {
            return (null, null, null, new PushRefusal(StatusCodes.Status410Gone, "challenge expired",
                string.Create(CultureInfo.InvariantCulture, $"challenge '{challengeId}' expired at {challenge.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}")));
        }
        if (await policies.GetLatestAsync(agent.PolicyName, cancellationToken).ConfigureAwait(false) is not { } stored)
            return (null, null, null, NoPolicy(agent));
        return (agent, challenge, stored, null);
    }

    /// <summary>The caller must be the agent (its registered TLS certificate), and the agent under attestation in push mode.</summary>
    private async Task<(AgentRecord? Agent, PushRefusal? Refusal)> AuthorizeAsync(string agentId, X509Certificate2? caller, CancellationToken cancellationToken)
    {
        if (caller is null)
            return (null, PushRefusal.Forbidden($"no client certificate: agent '{agentId}' must present the TLS certificate it registered"));
        if (!await connections.IsRegisteredCertificateAsync(agentId, caller, cancellationToken).ConfigureAwait(false))
            return (null, PushRefusal.Forbidden($"the caller's TLS certificate is not the one agent '{agentId}' registered"));
        var agent = await store.GetAgentAsync(agentId, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return (null, NotUnderAttestation(agentId));
        if (!agent.IsPush)
            return (null, PushRefusal.NotFound($"agent '{agentId}' is attested in pull mode: the verifier polls it"));
        return (agent, null);
    }

    private static PushRefusal NotUnderAttestation(string agentId) => PushRefusal.NotFound($"agent '{agentId}' is not under attestation");

    private static PushRefusal Used(string challengeId) => PushRefusal.Conflict("challenge used", $"challenge '{challengeId}' was already used");

    private static PushRefusal NoPolicy(AgentRecord agent) => PushRefusal.Conflict("no such policy", $"policy '{agent.PolicyName}' no longer exists");
}
