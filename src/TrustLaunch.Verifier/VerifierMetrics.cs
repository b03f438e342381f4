using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Verifier;

/// <summary>
/// The verifier's instruments (meter <c>TrustLaunch.Verifier</c>, exported on <c>/metrics</c>): attestations by
/// outcome, failures by kind, appraisal latency, and the agents this instance holds leases on, in all and by state.
/// </summary>
public sealed class VerifierMetrics : IDisposable
{
    public const string MeterName = "TrustLaunch.Verifier";

    private static readonly string[] States =
        [AgentStates.Registered, AgentStates.Attesting, AgentStates.Attested, AgentStates.Failed, AgentStates.Unreachable];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _attestations;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _latency;
    private readonly ConcurrentDictionary<string, string> _stateByAgent = new(StringComparer.Ordinal);
    private int _leased;

    public VerifierMetrics()
    {
        _attestations = _meter.CreateCounter<long>("trustlaunch_verifier_attestations", description: "Appraisals by outcome (attested, failed)");
        _failures = _meter.CreateCounter<long>("trustlaunch_verifier_failures", description: "Failed appraisals and agent faults by reason kind");
        _latency = _meter.CreateHistogram<double>("trustlaunch_verifier_verification_seconds", unit: "s",
            description: "Time to appraise one piece of evidence (quote, log replay, policy)");
        _meter.CreateObservableGauge("trustlaunch_verifier_agents", ObserveStates, description: "Agents leased to this instance by state");
        _meter.CreateObservableGauge("trustlaunch_verifier_leased_agents", () => Volatile.Read(ref _leased),
            description: "Agents leased to this instance");
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
