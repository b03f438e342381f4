using System.Globalization;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Notifications;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Push;

/// <summary>
/// Push-mode agents whose evidence has not arrived by their deadline become Unreachable, with a reason naming the
/// deadline (announced to the webhooks); evidence arriving later makes them Attested again. The poller runs it each round over the agents it
/// attests (pass only the agents this instance is responsible for).
/// </summary>
public sealed partial class PushDeadlines(IVerifierStore store, RevocationNotices notices, VerifierMetrics metrics, VerifierOptions options, TimeProvider time,
    ILogger<PushDeadlines> logger)
{
    /// <summary>Marks every overdue push-mode agent of <paramref name="agents"/> Unreachable; returns how many.</summary>
    public async Task<int> CheckAsync(IEnumerable<AgentRecord> agents, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agents);
        var now = time.GetUtcNow();
        var missed = 0;
        foreach (var agent in agents)
        {
            if (!agent.IsPush || agent.Paused || agent.State is AgentStates.Failed or AgentStates.Unreachable
                || agent.PushDeadline is not { } deadline || deadline >= now)
                continue;
            var reason = string.Create(CultureInfo.InvariantCulture, $"no evidence arrived by its deadline {deadline.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}");
            var notification = notices.For(agent.AgentId, agent.State, AgentStates.Unreachable, reason, null, now);
            if (!await store.MarkDeadlineMissedAsync(agent.AgentId, reason, now, notification, options.WebhookUrls, cancellationToken).ConfigureAwait(false))
                continue;
            metrics.Fault("deadline");
            metrics.SetState(agent.AgentId, AgentStates.Unreachable);
            LogMissed(logger, agent.AgentId, reason);
            missed++;
        }
        return missed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "push-mode agent {AgentId} is Unreachable: {Reason}")]
    private static partial void LogMissed(ILogger logger, string agentId, string reason);
}
