using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Registration;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Push;

/// <summary>
/// Push mode (<c>serve agent --push URL</c>), for nodes the verifier cannot reach: once the registrar has activated
/// the agent, it asks the verifier for a challenge, answers it with a quote and the log records it asks for, and waits
/// until the next attestation is due; when its launch log and PCR disagree it reports that instead of evidence. Network faults and 5xx answers retry with capped back-off; refusals (4xx, e.g.
/// 404 until a tenant adds the agent) retry slowly. Each problem is logged once, when it changes. The pull API keeps
/// working alongside.
/// </summary>
public sealed partial class PushAttestationService(
    AgentRuntime agent,
    RegistrationService registration,
    PushAttestationClient verifier,
    ILogger<PushAttestationService> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RefusedRetry = TimeSpan.FromSeconds(5);

    private string? _lastProblem;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await registration.Registered.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (ServiceProblemException)
        {
            LogNotRegistered(logger, agent.Options.AgentId);
            return;
        }
        var backoff = FirstRetry;
        while (true)
        {
            TimeSpan wait;
            try
            {
                var result = await AttestOnceAsync(stoppingToken).ConfigureAwait(false);
                Report(result.Status == PushAttestationResult.Contraindicated ? $"the verifier contraindicated this node: {result.Reason}" : null);
                backoff = FirstRetry;
                wait = result.Status == PushAttestationResult.Retry ? TimeSpan.Zero : result.NextAttestationAt - DateTimeOffset.UtcNow;
            }
            catch (ServiceProblemException e) when (e.Status is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError)
            {
                Report(e.Message);
                wait = RefusedRetry;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Report(e is OperationCanceledException ? "the verifier did not answer in time" : e.Message);
                wait = backoff;
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxRetry.Ticks));
            }
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task<PushAttestationResult> AttestOnceAsync(CancellationToken cancellationToken)
    {
        var agentId = agent.Options.AgentId;
        var challenge = await verifier.RequestChallengeAsync(agentId, cancellationToken).ConfigureAwait(false);
        QuoteEvidence evidence;
        try
        {
            evidence = await agent.Log.QuoteAsync(agent.Tpm.Keys, agentId, new QuoteQuery(challenge.Nonce, challenge.Pcrs, challenge.Since),
                cancellationToken).ConfigureAwait(false);
        }
        catch (LaunchLogNotReadyException e)
        {
            // What a pull-mode verifier learns from the 503 of /v1/quote: the node cannot be attested.
            return await verifier.ReportProblemAsync(agentId, challenge.ChallengeId, new AgentProblem(ProblemTypes.LogPcrDisagree, e.Message),
                cancellationToken).ConfigureAwait(false);
        }
        return await verifier.PostEvidenceAsync(agentId, challenge.ChallengeId, evidence, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs a problem when it differs from the last one, and the recovery when there is none any more.</summary>
    private void Report(string? problem)
    {
        if (problem == _lastProblem)
            return;
        if (problem is null)
            LogAttesting(logger, agent.Options.AgentId);
        else
            LogProblem(logger, agent.Options.AgentId, problem);
        _lastProblem = problem;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} pushes its evidence to the verifier")]
    private static partial void LogAttesting(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push attestation of agent {AgentId}: {Problem}")]
    private static partial void LogProblem(ILogger logger, string agentId, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Agent {AgentId} was not registered: push attestation stops")]
    private static partial void LogNotRegistered(ILogger logger, string agentId);
}
