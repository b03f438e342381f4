using System.Net.Http.Headers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Notifications;

/// <summary>
/// Delivers queued revocation notifications: POSTs the compact JWS (<c>application/jose</c>) to its webhook URL; a
/// 2xx answer removes it from the outbox, anything else is retried with exponential back-off (1 s doubling, at most
/// 5 min) until <see cref="VerifierOptions.WebhookMaxAttempts"/> failures dead-letter it: kept in the store, no longer
/// retried, counted in the metrics and listed by <c>trustlaunch verifier outbox</c>. The outbox is in the store, so
/// notifications survive restarts.
/// </summary>
public sealed partial class WebhookDispatcher(IVerifierStore store, VerifierOptions options, VerifierMetrics metrics, TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    private const int Batch = 32;

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await DeliverDueAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(logger, e);
            }
        }
    }

    /// <summary>One round: delivers what is due, then refreshes the outbox gauges.</summary>
    public async Task DeliverDueAsync(CancellationToken cancellationToken)
    {
        await DeliverAsync(cancellationToken).ConfigureAwait(false);
        metrics.SetOutbox(await store.CountOutboxAsync(cancellationToken).ConfigureAwait(false));
    }

    private async Task DeliverAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await store.GetDueNotificationsAsync(time.GetUtcNow(), Batch, cancellationToken).ConfigureAwait(false))
        {
            string? error;
            try
            {
                using var content = new StringContent(entry.Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/jose");
                using var response = await _http.PostAsync(entry.Url, content, cancellationToken).ConfigureAwait(false);
                error = response.IsSuccessStatusCode ? null : $"answered {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                error = e.Message;
            }
            if (error is null)
            {
                await store.MarkDeliveredAsync(entry.Id, cancellationToken).ConfigureAwait(false);
                continue;
            }
            var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(entry.Attempts, 9)));
            var now = time.GetUtcNow();
            if (await store.MarkAttemptFailedAsync(entry.Id, error, now, now + (delay < MaxBackoff ? delay : MaxBackoff), options.WebhookMaxAttempts,
                cancellationToken).ConfigureAwait(false))
                LogDeadLettered(logger, entry.Id, entry.Url, entry.Attempts + 1, error);
            else
                LogDeliveryFailed(logger, entry.Url, entry.Attempts + 1, error);
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "revocation webhook {Url} attempt {Attempt} failed: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string url, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "revocation webhook {Url} gave up on notification {Id} after {Attempts} attempts (dead letter): {Error}")]
    private static partial void LogDeadLettered(ILogger logger, long id, string url, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "webhook delivery round failed")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
