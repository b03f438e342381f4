using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Push;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>
/// Polls every agent each <see cref="VerifierOptions.QuoteInterval"/>, at most <see cref="VerifierOptions.MaxConcurrency"/>
/// at once. Paused and Failed agents are skipped (Failed stays Failed until resumed or re-added); an agent with
/// network faults waits an exponential back-off (interval × 2^faults, capped) before its next try. Push-mode agents are
/// never polled: each round only checks their deadlines.
/// </summary>
public sealed partial class AttestationPoller(
    IVerifierStore store,
    AgentAttestation attestation,
    PushDeadlines deadlines,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time,
    ILogger<AttestationPoller> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _notBefore = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.QuoteInterval, time);
        do
        {
            try
            {
                await PollOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store itself failed: say so and try again next round rather than stop attesting for good.
                LogRoundFailed(logger, e);
                metrics.Fault("store");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One round over every due agent.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var agents = await store.ListAgentsAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        foreach (var agent in agents)
            metrics.SetState(agent.AgentId, agent.State);
        await deadlines.CheckAsync(agents, cancellationToken).ConfigureAwait(false);
        var due = agents.Where(a => !a.IsPush && !a.Paused && a.State != AgentStates.Failed
            && (!_notBefore.TryGetValue(a.AgentId, out var notBefore) || notBefore <= now)).ToList();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency, CancellationToken = cancellationToken },
            async (agent, ct) =>
            {
                await attestation.AttestAsync(agent, ct).ConfigureAwait(false);
                var after = await store.GetAgentAsync(agent.AgentId, ct).ConfigureAwait(false);
                if (after is { ConsecutiveFaults: > 0 } faulty)
                    _notBefore[agent.AgentId] = time.GetUtcNow() + Backoff(faulty.ConsecutiveFaults);
                else
                    _notBefore.TryRemove(agent.AgentId, out _);
            }).ConfigureAwait(false);
    }

    private TimeSpan Backoff(int faults)
    {
        var factor = Math.Pow(2, Math.Min(faults - 1, 10));
        var delay = options.QuoteInterval * factor;
        return delay < options.MaxBackoff ? delay : options.MaxBackoff;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "attestation round failed")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
