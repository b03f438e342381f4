using System.Diagnostics.Metrics;
using TrustLaunch.Registrar.Storage;

namespace TrustLaunch.Registrar;

/// <summary>The registrar's instruments (meter <see cref="MeterName"/>), exported on <c>/metrics</c>.</summary>
public sealed class RegistrarMetrics : IDisposable
{
    public const string MeterName = "TrustLaunch.Registrar";
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _registrations;
    private readonly Counter<long> _activations;
    private readonly Counter<long> _refusals;

    public RegistrarMetrics()
    {
        _registrations = _meter.CreateCounter<long>("trustlaunch.registrar.registrations", description: "Registrations accepted (a credential challenge was issued)");
        _activations = _meter.CreateCounter<long>("trustlaunch.registrar.activations", description: "Agents activated with a correct proof");
        _refusals = _meter.CreateCounter<long>("trustlaunch.registrar.refusals", description: "Registrations and activations refused, by operation and HTTP status");
    }

    public void Registered(RegisterOutcome outcome) => _registrations.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));

    public void Activated() => _activations.Add(1);

    public void Refused(string operation, int status) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("status", status));

    public void Dispose() => _meter.Dispose();
}
