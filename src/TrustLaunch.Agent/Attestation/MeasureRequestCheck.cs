using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Attestation;

/// <summary>What the local measure API accepts: a known launch operation and a JSON object as its content.</summary>
public static class MeasureRequestCheck
{
    /// <summary>Null when the request can be measured, else why not (for a 400 problem).</summary>
    public static string? Validate(MeasureRequest? request)
    {
        if (request is null)
            return "a measure request needs a body: {\"operation\": OPERATION, \"content\": {…}}";
        if (!LaunchEvents.Operations.Contains(request.Operation ?? ""))
            return $"unknown operation '{request.Operation}': expected one of {string.Join(", ", LaunchEvents.Operations.Order(StringComparer.Ordinal))}";
        if (request.Content.ValueKind != JsonValueKind.Object)
            return $"content must be a JSON object, not {request.Content.ValueKind}";
        return null;
    }
}
