using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier;

/// <summary>
/// The verifier's instruments (meter <c>TrustLaunch.Verifier</c>, exported on <c>/metrics</c>): attestations by
/// outcome, failures by kind, appraisal latency, the agents this instance holds leases on, in all and by state, the
/// results waiting for a commit, the webhook outbox (pending and dead letters) and what retention removed.
/// </summary>
public sealed class VerifierMetrics : IDisposable
{
    public const string MeterName = "TrustLaunch.Verifier";

    private static readonly string[] States =
        [AgentStates.Registered, AgentStates.Attesting, AgentStates.Attested, AgentStates.Failed, AgentStates.Unreachable];

    /// <summary>Fine buckets around the 50 ms latency goal, so percentiles read off <c>/metrics</c> are close.</summary>
    private static readonly double[] AttestationBuckets =
        [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045,
         0.05, 0.06, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _attestations;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _attestation;
    private readonly ConcurrentDictionary<string, string> _stateByAgent = new(StringComparer.Ordinal);
    private readonly Counter<long> _pruned;
    private int _leased;
    private long _outboxPending;
    private long _outboxDead;

    public VerifierMetrics(IVerifierStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _attestations = _meter.CreateCounter<long>("trustlaunch_verifier_attestations", description: "Appraisals by outcome (attested, failed)");
        _failures = _meter.CreateCounter<long>("trustlaunch_verifier_failures", description: "Failed appraisals and agent faults by reason kind");
        _latency = _meter.CreateHistogram<double>("trustlaunch_verifier_verification_seconds", unit: "s",
            description: "Time to appraise one piece of evidence (quote, log replay, policy)");
        _attestation = _meter.CreateHistogram("trustlaunch_verifier_attestation_seconds", unit: "s",
            description: "One attestation of one agent, from the quote request (pull) or the challenge (push) to the committed result",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AttestationBuckets });
        _meter.CreateObservableGauge("trustlaunch_verifier_agents", ObserveStates, description: "Agents leased to this instance by state");
        _meter.CreateObservableGauge("trustlaunch_verifier_leased_agents", () => Volatile.Read(ref _leased),
            description: "Agents leased to this instance");
        _meter.CreateObservableGauge("trustlaunch_verifier_result_queue_depth", () => store.QueuedResults,
            description: $"Attestation results waiting for a commit (at most {VerifierStore.MaxQueuedResults}; attestations wait beyond)");
        _meter.CreateObservableGauge("trustlaunch_verifier_webhook_pending", () => Volatile.Read(ref _outboxPending),
            description: "Revocation notifications in the store's webhook outbox still being retried");
        _meter.CreateObservableGauge("trustlaunch_verifier_webhook_dead_letters", () => Volatile.Read(ref _outboxDead),
            description: "Revocation notifications given up after the maximum delivery attempts, kept in the store (trustlaunch verifier outbox)");
        _pruned = _meter.CreateCounter<long>("trustlaunch_verifier_pruned",
            description: "Rows removed by retention: results, dead instances, retired signing keys");
    }

    public void SetOutbox(OutboxCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        Volatile.Write(ref _outboxPending, counts.Pending);
        Volatile.Write(ref _outboxDead, counts.Dead);
    }

    public void Pruned(string kind, long rows)
    {
        if (rows > 0)
            _pruned.Add(rows, new KeyValuePair<string, object?>("kind", kind));
    }

    public void Attested(TimeSpan appraisal)
    {
        _attestations.Add(1, new KeyValuePair<string, object?>("outcome", "attested"));
        _latency.Record(appraisal.TotalSeconds);
    }

    public void Failed(string reasonKind, TimeSpan appraisal)
    {
        _attestations.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        _failures.Add(1, new KeyValuePair<string, object?>("reason", reasonKind));
        _latency.Record(appraisal.TotalSeconds);
    }

    /// <summary>An attestation whose result was committed, timed from its quote request (pull) or its challenge (push).</summary>
    public void AttestationCommitted(TimeSpan duration) => _attestation.Record(duration.TotalSeconds);

    public void Fault(string reasonKind) => _failures.Add(1, new KeyValuePair<string, object?>("reason", reasonKind));

    public void SetState(string agentId, string state) => _stateByAgent[agentId] = state;

    public void SetLeased(int agents) => Volatile.Write(ref _leased, agents);

    public void Forget(string agentId) => _stateByAgent.TryRemove(agentId, out _);

    private IEnumerable<Measurement<long>> ObserveStates()
    {
        var counts = _stateByAgent.Values.GroupBy(s => s, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        foreach (var state in States)
            yield return new Measurement<long>(counts.GetValueOrDefault(state), new KeyValuePair<string, object?>("state", state));
    }

    public void Dispose() => _meter.Dispose();
}
