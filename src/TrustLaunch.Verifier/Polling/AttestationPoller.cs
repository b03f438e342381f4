using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Push;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>
/// Attests the agents leased to this instance, each once per <see cref="VerifierOptions.QuoteInterval"/> after its
/// last recorded attestation (whichever instance made it, so an agent handed over is not attested twice in one
/// interval), at most <see cref="VerifierOptions.MaxConcurrency"/> at once. Leases are kept by
/// <see cref="IVerifierStore.MaintainLeasesAsync"/> every third of the lease (or every interval when shorter); when
/// that has not succeeded for a whole lease the instance stops attesting, since others may hold its agents by now.
/// Paused and Failed agents are skipped (Failed stays Failed until resumed or re-added); an agent with network
/// faults waits an exponential back-off (interval × 2^faults, capped) before its next try. Push-mode agents are never
/// polled: their holder only checks their deadlines, once an interval. Leases are given up on shutdown. A round continues
/// from the record the last one wrote (<see cref="AgentSchedule"/>); tenant changes reach it through the row's
/// generation, which every lease maintenance reads and every round's write is fenced on.
/// </summary>
public sealed partial class AttestationPoller(
    IVerifierStore store,
    AgentAttestation attestation,
    VerifierSigningKey key,
    PushDeadlines deadlines,
    VerifierMetrics metrics,
    VerifierOptions options,
    TimeProvider time,
    ILogger<AttestationPoller> logger) : BackgroundService
{
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(5);

    private readonly AgentSchedule _schedule = new();
    private readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private DateTimeOffset _leasedUntil = DateTimeOffset.MinValue;

    private TimeSpan MaintenancePeriod => options.Lease / 3 < options.QuoteInterval ? options.Lease / 3 : options.QuoteInterval;

    /// <summary>How often due agents are looked for: a hundredth of the interval, 10 ms to 250 ms.</summary>
    private TimeSpan Tick => TimeSpan.FromMilliseconds(Math.Clamp(options.QuoteInterval.TotalMilliseconds / 100, 10, 250));

    /// <summary>Released when an attestation ends while due agents wait for a free slot, so the slot is refilled at once.</summary>
    private readonly SemaphoreSlim _slotFreed = new(0, 1);
    private volatile bool _saturated;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextMaintenance = DateTimeOffset.MinValue;
        try
        {
            while (true)
            {
                var now = time.GetUtcNow();
                if (now >= nextMaintenance)
                {
                    await MaintainLeasesAsync(stoppingToken).ConfigureAwait(false);
                    nextMaintenance = now + MaintenancePeriod;
                }
                Dispatch(stoppingToken);
                await _slotFreed.WaitAsync(Tick, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await LeaveAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Renews, evens out and takes leases; schedules newly held agents from their last recorded attestation.</summary>
    private async Task MaintainLeasesAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        IReadOnlyList<HeldAgent> held;
        try
        {
            var self = new VerifierInstance(options.InstanceId, options.VerifierId, key.KeyId, key.PublicKeyPem, _startedAt);
            held = await store.MaintainLeasesAsync(self, _inFlight.Keys.ToHashSet(StringComparer.Ordinal), started, options.Lease, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The store failed: say so and keep attesting until the leases run out; renewal is tried again next period.
            LogMaintenanceFailed(logger, e);
            metrics.Fault("store");
            return;
        }
        _leasedUntil = started + options.Lease;
        foreach (var agentId in _schedule.Refresh(held, agent => Later(started, NextAfter(agent.LastAttestation, agent.ConsecutiveFaults))))
            metrics.Forget(agentId);
        metrics.SetLeased(held.Count);
    }

    /// <summary>Starts an attestation for the held agents due longest and not in flight, up to the concurrency limit.</summary>
    private void Dispatch(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now >= _leasedUntil)
            return;
        var free = Math.Max(0, options.MaxConcurrency - _inFlight.Count);
        var due = _schedule.TakeDue(now, free, out var moreDue);
        _saturated = moreDue;
        foreach (var (agentId, kept) in due)
        {
            var run = new TaskCompletionSource();
            _inFlight[agentId] = run.Task;
            _ = AttestOneAsync(agentId, kept, run, cancellationToken);
        }
    }

    /// <param name="kept">The record the last round left (null: read it). Push-mode agents are always read: other
    /// instances' push API writes their rows.</param>
    private async Task AttestOneAsync(string agentId, AgentRecord? kept, TaskCompletionSource done, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var next = time.GetUtcNow() + options.QuoteInterval;
        AgentRecord? after = null;
        try
        {
            var agent = kept is { IsPush: false } ? kept : await store.GetAgentAsync(agentId, cancellationToken).ConfigureAwait(false);
            if (agent is null)
                return;
            metrics.SetState(agentId, agent.State);
            if (agent.IsPush)
            {
                await deadlines.CheckAsync([agent], cancellationToken).ConfigureAwait(false);
            }
            else if (!agent.Paused && agent.State != AgentStates.Failed)
            {
                var round = await attestation.AttestAsync(agent, cancellationToken).ConfigureAwait(false);
                next = NextAfter(time.GetUtcNow(), round.ConsecutiveFaults);
                after = round.Agent;
            }
            else
            {
                // Paused or Failed until a tenant resumes it, which changes the row's generation.
                after = agent;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogAttestationFailed(logger, agentId, e);
            metrics.Fault("store");
        }
        finally
        {
            // Rescheduled only while still held: maintenance may have dropped it (lease lost) meanwhile.
            _schedule.Complete(agentId, next, after);
            _inFlight.TryRemove(agentId, out _);
            done.SetResult();
            if (_saturated && _slotFreed.CurrentCount == 0)
            {
                try
                {
                    _slotFreed.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Another attestation ending woke the dispatcher already.
                }
            }
        }
    }

    /// <summary>Waits for attestations in flight, then gives up this instance's leases so the others take over at once.</summary>
    private async Task LeaveAsync()
    {
        await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(LeaveTimeout);
        try
        {
            await store.LeaveAsync(options.InstanceId, time.GetUtcNow(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The leases then simply expire.
            LogLeaveFailed(logger, e);
        }
    }

    private DateTimeOffset NextAfter(DateTimeOffset? last, int faults) =>
        last is { } at ? at + (faults > 0 ? Backoff(faults) : options.QuoteInterval) : DateTimeOffset.MinValue;

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private TimeSpan Backoff(int faults)
    {
        var factor = Math.Pow(2, Math.Min(faults - 1, 10));
        var delay = options.QuoteInterval * factor;
        return delay < options.MaxBackoff ? delay : options.MaxBackoff;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "lease maintenance failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "attestation of agent {AgentId} failed")]
    private static partial void LogAttestationFailed(ILogger logger, string agentId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not give up the leases on shutdown; they expire instead")]
    private static partial void LogLeaveFailed(ILogger logger, Exception exception);
}
