using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Notifications;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>The challenge push-mode evidence answered, consumed with its result, and the agent's next deadline.</summary>
public sealed record PushReceipt(string ChallengeId, DateTimeOffset Deadline);

/// <summary>A result as committed, and the agent as that commit left it.</summary>
public sealed record RecordedAttestation(AttestationResultRecord Result, AgentRecord Agent);

/// <summary>One appraised piece of evidence: the outcome, the log length the agent reported, and the appraisal time.</summary>
public sealed record AppraisedEvidence(AppraisalOutcome Outcome, long LogLength, TimeSpan Elapsed);

/// <summary>
/// What pull and push mode share once evidence is in hand: the appraisal, then the new state, the signed result and
/// (on failure) the signed revocation notification committed together, then metrics and logs. Only how the evidence
/// arrives differs (<see cref="AgentAttestation"/> asks the agent; <see cref="Push.PushAttestation"/> is posted to).
/// </summary>
public sealed partial class EvidenceRecorder(
    IVerifierStore store,
    VerifierSigningKey key,
    RevocationNotices notices,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time,
    ILogger<EvidenceRecorder> logger)
{
    public const int NonceSize = 32;

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceSize);

    /// <summary>
    /// Appraises <paramref name="evidence"/>. Evidence the appraisal cannot get through (a null or malformed member, a
    /// key it cannot use) fails the agent as <see cref="Malformed"/> says: it never keeps an old verdict.
    /// </summary>
    /// <param name="receivedAt">When the evidence arrived: the time of its new records.</param>
    public static AppraisedEvidence Appraise(AgentRecord agent, AsymmetricAlgorithm akPublicKey, byte[] nonce, AttestationPolicy policy, QuoteEvidence evidence,
        DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(evidence);
        var started = Stopwatch.GetTimestamp();
        AppraisalOutcome outcome;
        try
        {
            outcome = Appraiser.Appraise(new AppraisalInput(agent.AgentId, akPublicKey, nonce, policy, agent.Appraisal, evidence, receivedAt));
        }
        catch (Exception e)
        {
            return Malformed(agent, e);
        }
        return new AppraisedEvidence(outcome, evidence.LogLength, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Evidence that could not be read or appraised: Failed, <c>malformed evidence: WHY</c>.</summary>
    public static AppraisedEvidence Malformed(AgentRecord agent, Exception problem)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(problem);
        return new AppraisedEvidence(AppraisalOutcome.Failed(AppraisalFailure.Evidence, MalformedReason(problem)), agent.Appraisal.NextRecNum, TimeSpan.Zero);
    }

    /// <summary>The agent says its launch log and PCR disagree (the PCR was extended behind the log): Failed.</summary>
    public static AppraisedEvidence Disagreement(AgentRecord agent, string? detail)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new AppraisedEvidence(AppraisalOutcome.Failed(AppraisalFailure.LogChain, "log and PCR disagree: " + (detail ?? "the agent gave no detail")),
            agent.Appraisal.NextRecNum, TimeSpan.Zero);
    }

    public static string MalformedReason(Exception problem) => "malformed evidence: " + (problem ?? throw new ArgumentNullException(nameof(problem))).Message;

    /// <summary>
    /// Records an attested or failed outcome (not one that needs the full log). Pull-mode outcomes are written only
    /// while this instance holds the agent's lease; push-mode ones consume <paramref name="push"/>'s challenge instead.
    /// Returns the saved result and the agent as saved, or null when nothing was written: the agent was removed or
    /// changed by a tenant meanwhile, its lease moved, or the challenge was used already.
    /// </summary>
    public async Task<RecordedAttestation?> RecordAsync(AgentRecord agent, StoredPolicy stored, AppraisedEvidence appraised, PushReceipt? push,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(appraised);
        var outcome = appraised.Outcome;
        var now = time.GetUtcNow();
        var policyId = $"{stored.Policy.Name}:v{stored.Version}";
        var attested = outcome.IsAttested;
        var updated = attested
            ? agent with
            {
                PolicyVersion = stored.Version,
                State = AgentStates.Attested,
                Appraisal = outcome.State!,
                LastAttestation = now,
                LastSuccess = now,
                FailureReason = null,
                FailedEventIndex = null,
                EventsVerified = agent.EventsVerified + outcome.EventsVerified,
                Attestations = agent.Attestations + 1,
                ConsecutiveFaults = 0,
            }
            : agent with
            {
                PolicyVersion = stored.Version,
                State = AgentStates.Failed,
                LastAttestation = now,
                FailureReason = outcome.Reason,
                FailedEventIndex = outcome.EventIndex,
                Attestations = agent.Attestations + 1,
                ConsecutiveFaults = 0,
            };
        var token = EarToken.Create(key.Signer, options.VerifierId, agent.AgentId, policyId, outcome.Reason,
            outcome.Failure == AppraisalFailure.Policy, outcome.EventIndex, now);
        var result = new AttestationResultRecord(0, agent.AgentId, now, attested ? EarToken.Affirming : EarToken.Contraindicated,
            outcome.Reason, outcome.EventIndex, appraised.LogLength, policyId, token, options.InstanceId, outcome.Launches);
        var notification = attested ? null : notices.For(agent.AgentId, agent.State, AgentStates.Failed, outcome.Reason!, outcome.EventIndex, now);
        var saved = push is null
            ? await store.RecordAttestationAsync(updated, result, notification, options.WebhookUrls, options.InstanceId, cancellationToken).ConfigureAwait(false)
            : await store.RecordPushAttestationAsync(updated, result, notification, options.WebhookUrls, push.ChallengeId, push.Deadline, cancellationToken).ConfigureAwait(false);
        if (saved is null)
            return null;
        metrics.SetState(agent.AgentId, updated.State);
        if (attested)
        {
            metrics.Attested(appraised.Elapsed);
            if (agent.State != AgentStates.Attested || outcome.Rebooted)
                LogAttested(logger, agent.AgentId, outcome.EventsVerified, outcome.Rebooted);
        }
        else
        {
            metrics.Failed(outcome.Failure.ToString(), appraised.Elapsed);
            LogFailed(logger, agent.AgentId, outcome.Reason!);
        }
        return new RecordedAttestation(saved, updated);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId} attested ({Events} new events, rebooted: {Rebooted})")]
    private static partial void LogAttested(ILogger logger, string agentId, int events, bool rebooted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent {AgentId} failed attestation: {Reason}")]
    private static partial void LogFailed(ILogger logger, string agentId, string reason);
}
