using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Retention;

/// <summary>
/// Every <see cref="VerifierOptions.PruneInterval"/>: deletes the results <see cref="VerifierOptions.Retention"/> no
/// longer keeps, <see cref="Batch"/> rows per transaction (so attestations never wait behind one long delete), then
/// dead instances and retired signing keys past <see cref="VerifierOptions.RetireAfter"/>. Every instance on a shared
/// store prunes; the deletes are idempotent.
/// </summary>
public sealed partial class StorePruner(IVerifierStore store, VerifierOptions options, VerifierMetrics metrics, TimeProvider time,
    ILogger<StorePruner> logger) : BackgroundService
{
    public const int Batch = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PruneInterval, time);
        do
        {
            try
            {
                await PruneAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                metrics.Fault("prune");
                LogRoundFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One round; returns the results removed and what <see cref="IVerifierStore.PruneRetiredAsync"/> removed.</summary>
    public async Task<(long Results, RetiredRemoval Retired)> PruneAsync(CancellationToken cancellationToken)
    {
        long results = 0;
        int deleted;
        var now = time.GetUtcNow();
        do
        {
            deleted = await store.PruneResultsAsync(options.Retention, now, Batch, cancellationToken).ConfigureAwait(false);
            results += deleted;
            metrics.Pruned("results", deleted);
        }
        while (deleted == Batch);
        var retired = new RetiredRemoval(0, 0);
        RetiredRemoval round;
        do
        {
            round = await store.PruneRetiredAsync(now, options.RetireAfter, Batch, cancellationToken).ConfigureAwait(false);
            retired = new RetiredRemoval(retired.Instances + round.Instances, retired.Keys + round.Keys);
            metrics.Pruned("instances", round.Instances);
            metrics.Pruned("keys", round.Keys);
        }
        while (round.Instances == Batch || round.Keys == Batch);
        if (results > 0 || retired.Instances > 0 || retired.Keys > 0)
            LogPruned(logger, results, retired.Instances, retired.Keys);
        return (results, retired);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "retention removed {Results} results, {Instances} dead instances, {Keys} retired signing keys")]
    private static partial void LogPruned(ILogger logger, long results, int instances, int keys);

    [LoggerMessage(Level = LogLevel.Error, Message = "retention round failed")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
