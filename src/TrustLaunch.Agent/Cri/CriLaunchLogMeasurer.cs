using System.Text.Json;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// Measures straight into the agent's own <see cref="LaunchLog"/> (durable entry, then the PCR extend), with the checks
/// the local measure API makes, and no socket round trip. The log is the agent's: disposing this leaves it open.
/// </summary>
public sealed class CriLaunchLogMeasurer(LaunchLog log) : IMeasurer
{
    public Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken = default)
    {
        if (MeasureRequestCheck.Validate(new MeasureRequest(operation, content, goldenValue)) is { } problem)
            throw new ArgumentException(problem, nameof(operation));
        return log.MeasureAsync(operation, content, goldenValue, cancellationToken);
    }

    public void Dispose()
    {
    }
}
