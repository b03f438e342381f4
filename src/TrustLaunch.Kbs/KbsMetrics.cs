using System.Diagnostics.Metrics;

namespace TrustLaunch.Kbs;

/// <summary>The broker's instruments (meter <see cref="MeterName"/>), exported on <c>/metrics</c>.</summary>
public sealed class KbsMetrics : IDisposable
{
    public const string MeterName = "TrustLaunch.Kbs";
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _attestations;
    private readonly Counter<long> _released;
    private readonly Counter<long> _refusals;

    public KbsMetrics()
    {
        _attestations = _meter.CreateCounter<long>("trustlaunch.kbs.attestations", description: "Attestations accepted (a token was issued)");
        _released = _meter.CreateCounter<long>("trustlaunch.kbs.resources_released", description: "Resources released, by repository");
        _refusals = _meter.CreateCounter<long>("trustlaunch.kbs.refusals", description: "Requests refused, by Trustee error name");
    }

    public void Attested() => _attestations.Add(1);

    public void Released(string repository) => _released.Add(1, new KeyValuePair<string, object?>("repository", repository));

    public void Refused(string error) => _refusals.Add(1, new KeyValuePair<string, object?>("error", error));

    public void Dispose() => _meter.Dispose();
}
