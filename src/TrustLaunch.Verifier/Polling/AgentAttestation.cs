using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Notifications;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>An agent's state and consecutive network faults after one attestation round, and the agent as the round
/// wrote it (null when it wrote nothing: the next round reads the agent again).</summary>
public readonly record struct AttestationRound(string State, int ConsecutiveFaults, AgentRecord? Agent);

/// <summary>
/// One pull-mode attestation round for one agent: fresh nonce, quote and new log records asked from the agent, then
/// appraised and recorded by <see cref="EvidenceRecorder"/>. Network faults count towards Unreachable; they never fail
/// an agent. Evidence that cannot be read or appraised, and an agent reporting that its log and PCR disagree, fail it;
/// a store fault records nothing and is retried by the poller. Everything is written only while this instance (<see cref="VerifierOptions.InstanceId"/>) still holds
/// the agent's lease and the agent's row is at the generation the round started from; a late outcome is dropped and logged.
/// </summary>
public sealed partial class AgentAttestation(
    IVerifierStore store,
    AgentConnections connections,
    PolicyCache policies,
    EvidenceRecorder recorder,
    RevocationNotices notices,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time,
    ILogger<AgentAttestation> logger)
{
    /// <summary>Attests <paramref name="agent"/> once; returns the state and fault count it has afterwards.</summary>
    public async Task<AttestationRound> AttestAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        using var scope = AgentScope(logger, agent.AgentId);
        if (agent.State == AgentStates.Registered)
        {
            if (!await store.RecordFaultAsync(agent, agent.ConsecutiveFaults, AgentStates.Attesting, null, time.GetUtcNow(), options.InstanceId,
                    cancellationToken: cancellationToken).ConfigureAwait(false))
                return Dropped(agent);
            agent = agent with { State = AgentStates.Attesting };
        }
        var started = Stopwatch.GetTimestamp();
        // A store fault (the policy cannot be read, nothing recorded) propagates: the poller counts it and tries again.
        var stored = await policies.GetLatestAsync(agent.PolicyName, cancellationToken).ConfigureAwait(false);
        if (stored is null)
            return await FaultAsync(agent, "policy", $"policy '{agent.PolicyName}' no longer exists", cancellationToken).ConfigureAwait(false);
        var policy = policies.Get(stored);
        AppraisedEvidence appraised;
        try
        {
            var connection = await connections.GetAsync(agent.AgentId, agent.Address, cancellationToken).ConfigureAwait(false);
            appraised = await QuoteAndAppraiseAsync(agent, policy, connection, agent.Appraisal.NextRecNum, cancellationToken).ConfigureAwait(false);
            if (appraised.Outcome.NeedsFullLog)
                appraised = await QuoteAndAppraiseAsync(agent, policy, connection, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceProblemException e) when (LogAndPcrDisagree(e))
        {
            appraised = EvidenceRecorder.Disagreement(agent, e.Detail);
        }
        catch (Exception e) when (IsFault(e, cancellationToken))
        {
            connections.Forget(agent.AgentId);
            return await FaultAsync(agent, FaultKind(e), FaultReason(e), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else the agent or its registration gave (evidence that does not parse, an AK or address that
            // cannot be used) fails the agent: retrying would keep its last verdict standing.
            connections.Forget(agent.AgentId);
            appraised = EvidenceRecorder.Malformed(agent, e);
        }
        var saved = await recorder.RecordAsync(agent, stored, appraised, null, cancellationToken).ConfigureAwait(false);
        if (saved is null)
            return Dropped(agent);
        metrics.AttestationCommitted(Stopwatch.GetElapsedTime(started));
        return new(saved.Agent.State, 0, saved.Agent);
    }

    private static bool LogAndPcrDisagree(ServiceProblemException e) =>
        e.Status == System.Net.HttpStatusCode.ServiceUnavailable && e.Type == ProblemTypes.LogPcrDisagree;

    private async Task<AppraisedEvidence> QuoteAndAppraiseAsync(AgentRecord agent, AttestationPolicy policy, AgentConnection connection, long since,
        CancellationToken cancellationToken)
    {
        var nonce = EvidenceRecorder.NewNonce();
        var evidence = await connection.Client.GetQuoteAsync(nonce, Appraiser.SelectionFor(policy), since, cancellationToken).ConfigureAwait(false);
        return EvidenceRecorder.Appraise(agent, connection.AkPublicKey, nonce, policy, evidence, time.GetUtcNow());
    }

    private async Task<AttestationRound> FaultAsync(AgentRecord agent, string kind, string reason, CancellationToken cancellationToken)
    {
        var faults = agent.ConsecutiveFaults + 1;
        var state = faults >= options.UnreachableAfter ? AgentStates.Unreachable : agent.State;
        var now = time.GetUtcNow();
        var notification = notices.For(agent.AgentId, agent.State, state, reason, null, now);
        if (!await store.RecordFaultAsync(agent, faults, state, reason, now, options.InstanceId, notification, options.WebhookUrls,
                cancellationToken).ConfigureAwait(false))
            return Dropped(agent);
        metrics.Fault(kind);
        metrics.SetState(agent.AgentId, state);
        LogFault(logger, agent.AgentId, faults, reason);
        return new(state, faults, agent with { ConsecutiveFaults = faults, State = state, FailureReason = reason, LastAttestation = now });
    }

    /// <summary>Nothing was written: the agent was removed, failed meanwhile, or its lease moved to another instance.</summary>
    private AttestationRound Dropped(AgentRecord agent)
    {
        LogDropped(logger, agent.AgentId, options.InstanceId);
        return new(agent.State, agent.ConsecutiveFaults, null);
    }

    private static bool IsFault(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or ServiceProblemException or AgentNotRegisteredException or ObjectDisposedException => true,
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

    /// <summary>The scope of one agent's round: a template, so a log shows "agent ID" as the scope, not a type name.</summary>
    internal static readonly Func<ILogger, string, IDisposable?> AgentScope = LoggerMessage.DefineScope<string>("agent {AgentId}");

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId}: outcome dropped, the agent was removed, changed by a tenant, is Failed, or is no longer leased to {InstanceId}")]
    private static partial void LogDropped(ILogger logger, string agentId, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent {AgentId} fault {Faults}: {Reason}")]
    private static partial void LogFault(ILogger logger, string agentId, int faults, string reason);
}
