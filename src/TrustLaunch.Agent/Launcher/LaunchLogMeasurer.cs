using System.Text.Json;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Measures into the agent's own <see cref="LaunchLog"/> from inside the agent process (the node daemon's launches,
/// the CRI endpoint): the same checks and the same durable-write-then-extend as <c>POST /v1/measure</c>, without a
/// socket round trip. The log belongs to the agent: disposing this leaves it open.
/// </summary>
public sealed class LaunchLogMeasurer(LaunchLog log) : IMeasurer
{
    public async Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken = default)
    {
        if (MeasureRequestCheck.Validate(new MeasureRequest(operation, content, goldenValue)) is { } problem)
            throw new ArgumentException(problem, nameof(operation));
        try
        {
            return await log.MeasureAsync(operation, content, goldenValue, cancellationToken).ConfigureAwait(false);
        }
        catch (LaunchLogNotReadyException e)
        {
            throw new IOException($"the agent cannot measure {operation}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
    }
}
