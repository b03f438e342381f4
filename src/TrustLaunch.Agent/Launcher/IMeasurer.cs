using System.Text.Json;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Where the launcher's measurements go: the local agent over its unix socket (so log and PCR are the ones the
/// verifier checks), or, standalone, an event log and TPM of its own. A measurement that fails stops the launch.
/// </summary>
public interface IMeasurer : IDisposable
{
    /// <param name="operation">One of <see cref="TrustLaunch.Measurement.LaunchEvents"/>.</param>
    /// <param name="content">The event content, a JSON object.</param>
    /// <param name="goldenValue">For <c>ImageVerified</c> (and only then): the golden value JWS the image was judged by.</param>
    Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken = default);

    /// <summary>Measures an event that carries no golden value.</summary>
    Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, CancellationToken cancellationToken = default) =>
        MeasureAsync(operation, content, null, cancellationToken);
}
