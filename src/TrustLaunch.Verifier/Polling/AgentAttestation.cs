using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>
/// One attestation round for one agent: fresh nonce, quote and new log records from the agent, appraisal, then the
/// new state, the signed result and (on failure) the signed revocation notification committed together. Network
/// faults count towards Unreachable; they never fail an agent.
/// </summary>
public sealed partial class AgentAttestation(
    IVerifierStore store,
    AgentConnections connections,
    PolicyCache policies,
    VerifierSigningKey key,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time,
    ILogger<AgentAttestation> logger)
{
    public const int NonceSize = 32;

    /// <summary>Attests <paramref name="agent"/> once; returns the state it is in afterwards.</summary>
    public async Task<string> AttestAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["AgentId"] = agent.AgentId });
        if (agent.State == AgentStates.Registered)
        {
            await store.RecordFaultAsync(agent.AgentId, agent.ConsecutiveFaults, AgentStates.Attesting, null, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            agent = agent with { State = AgentStates.Attesting };
        }
        var started = Stopwatch.GetTimestamp();
        StoredPolicy? stored;
        AppraisalOutcome outcome;
        long logLength;
        TimeSpan elapsed;
        try
        {
            stored = await store.GetPolicyAsync(agent.PolicyName, null, cancellationToken).ConfigureAwait(false);
            if (stored is null)
                return await FaultAsync(agent, "policy", $"policy '{agent.PolicyName}' no longer exists", cancellationToken).ConfigureAwait(false);
            var policy = policies.Get(stored);
            var connection = await connections.GetAsync(agent.AgentId, agent.Address, cancellationToken).ConfigureAwait(false);
            (outcome, logLength, elapsed) = await QuoteAndAppraiseAsync(agent, policy, connection, agent.Appraisal.NextRecNum, cancellationToken).ConfigureAwait(false);
            if (outcome.NeedsFullLog)
                (outcome, logLength, elapsed) = await QuoteAndAppraiseAsync(agent, policy, connection, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFault(e, cancellationToken))
        {
            connections.Forget(agent.AgentId);
            return await FaultAsync(agent, FaultKind(e), FaultReason(e), cancellationToken).ConfigureAwait(false);
        }
        return await RecordAsync(agent, stored, outcome, logLength, elapsed, started, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(AppraisalOutcome Outcome, long LogLength, TimeSpan Elapsed)> QuoteAndAppraiseAsync(
        AgentRecord agent, AttestationPolicy policy, AgentConnection connection, long since, CancellationToken cancellationToken)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var evidence = await connection.Client.GetQuoteAsync(nonce, Appraiser.SelectionFor(policy), since, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var outcome = Appraiser.Appraise(new AppraisalInput(agent.AgentId, connection.AkPublicKey, nonce, policy, agent.Appraisal, evidence));
        return (outcome, evidence.LogLength, Stopwatch.GetElapsedTime(started));
    }

    private async Task<string> RecordAsync(AgentRecord agent, StoredPolicy stored, AppraisalOutcome outcome, long logLength, TimeSpan elapsed,
        long started, CancellationToken cancellationToken)
    {
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
            outcome.Reason, outcome.EventIndex, logLength, policyId, token);
        var notification = attested ? null : SignNotification(new RevocationNotification(agent.AgentId, AgentStates.Failed, outcome.Reason!, outcome.EventIndex, now));
        var saved = await store.RecordAttestationAsync(updated, result, notification, options.WebhookUrls, cancellationToken).ConfigureAwait(false);
        if (saved is null)
            return updated.State;
        metrics.AttestationCommitted(Stopwatch.GetElapsedTime(started));
        metrics.SetState(agent.AgentId, updated.State);
        if (attested)
        {
            metrics.Attested(elapsed);
            if (agent.State != AgentStates.Attested || outcome.Rebooted)
                LogAttested(logger, agent.AgentId, outcome.EventsVerified, outcome.Rebooted);
        }
        else
        {
            metrics.Failed(outcome.Failure.ToString(), elapsed);
            LogFailed(logger, agent.AgentId, outcome.Reason!);
        }
        return updated.State;
    }

    /// <summary>The notification as a compact JWS (typ <c>revocation+jws</c>) by the verifier key.</summary>
    public string SignNotification(RevocationNotification notification) =>
        Jws.SignCompact(JsonSerializer.SerializeToUtf8Bytes(notification, ContractsJsonContext.Default.RevocationNotification), key.Signer, "revocation+jws");

    private async Task<string> FaultAsync(AgentRecord agent, string kind, string reason, CancellationToken cancellationToken)
    {
        var faults = agent.ConsecutiveFaults + 1;
        var state = faults >= options.UnreachableAfter ? AgentStates.Unreachable : agent.State;
        await store.RecordFaultAsync(agent.AgentId, faults, state, reason, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        metrics.Fault(kind);
        metrics.SetState(agent.AgentId, state);
        LogFault(logger, agent.AgentId, faults, reason);
        return state;
    }

    private static bool IsFault(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or ServiceProblemException or AgentNotRegisteredException or JsonException or ObjectDisposedException => true,
        _ => false,
    };

    private static string FaultKind(Exception e) => e switch
    {
        AgentNotRegisteredException => "not_registered",
        ServiceProblemException => "agent_error",
        OperationCanceledException => "timeout",
        _ => "network",
    };

    private static string FaultReason(Exception e) => e switch
    {
        OperationCanceledException => "agent did not answer in time",
        HttpRequestException { InnerException: { } inner } h => $"{h.Message} ({inner.Message})",
        _ => e.Message,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId} attested ({Events} new events, rebooted: {Rebooted})")]
    private static partial void LogAttested(ILogger logger, string agentId, int events, bool rebooted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent {AgentId} failed attestation: {Reason}")]
    private static partial void LogFailed(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent {AgentId} fault {Faults}: {Reason}")]
    private static partial void LogFault(ILogger logger, string agentId, int faults, string reason);
}
