using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Golden;

namespace TrustLaunch.Agent.Attestation;

/// <summary>
/// What the local measure API accepts: a known launch operation (not a release, which only the agent measures) and a
/// JSON object as its content; an
/// <c>ImageVerified</c> also the golden value (JWS, compact or JSON) whose SHA-256 its content names as <c>golden</c>.
/// </summary>
public static class MeasureRequestCheck
{
    /// <summary>A golden value is a few kilobytes; anything near this is not one.</summary>
    public const int MaxGoldenValueLength = 64 * 1024;

    // A release is measured where it happens (NodeKeyBroker, NodeSecrets); one measured through the API would be a
    // forged claim that the broker released something. A workload's event names its container, which only the gateway
    // the container called knows.
    private static readonly string[] AgentOnly = [LaunchEvents.KeyReleased, LaunchEvents.SecretReleased, LaunchEvents.WorkloadEvent];

    /// <summary>Null when the request can be measured, else why not (for a 400 problem).</summary>
    public static string? Validate(MeasureRequest? request)
    {
        if (request is null)
            return "a measure request needs a body: {\"operation\": OPERATION, \"content\": {…}}";
        if (request.Operation == LaunchEvents.WorkloadEvent)
            return $"{request.Operation} is measured by the agent itself for the container whose workload gateway is called, never through the measure API";
        if (AgentOnly.Contains(request.Operation))
            return $"{request.Operation} is measured by the agent itself when the key broker releases to it, never through the measure API";
        if (!LaunchEvents.Operations.Contains(request.Operation ?? ""))
            return $"unknown operation '{request.Operation}': expected one of {string.Join(", ", LaunchEvents.Operations.Except(AgentOnly).Order(StringComparer.Ordinal))}";
        if (request.Content.ValueKind != JsonValueKind.Object)
            return $"content must be a JSON object, not {request.Content.ValueKind}";
        if (request.Operation == LaunchEvents.ImageVerified)
            return CheckGoldenValue(request.Content, request.GoldenValue);
        return request.GoldenValue is null ? null : $"golden_value belongs to {LaunchEvents.ImageVerified} only, not {request.Operation}";
    }

    private static string? CheckGoldenValue(JsonElement content, string? jws)
    {
        if (string.IsNullOrEmpty(jws))
            return $"{LaunchEvents.ImageVerified} needs golden_value: the JWS of the golden value the image was checked against";
        if (jws.Length > MaxGoldenValueLength)
            return $"golden_value is {jws.Length} characters, more than {MaxGoldenValueLength}";
        if (JwsJson.IsJson(jws)
                ? jws.AsSpan().IndexOfAnyExceptInRange(' ', '~') >= 0
                : jws.AsSpan().IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") >= 0)
            return "golden_value is neither a compact JWS (base64url parts joined by '.') nor JWS JSON in printable ASCII";
        if (!content.TryGetProperty("golden", out var golden) || golden.ValueKind != JsonValueKind.String)
            return $"{LaunchEvents.ImageVerified} content has no string 'golden'";
        var actual = GoldenValue.JwsDigest(jws);
        return actual == golden.GetString() ? null : $"golden_value hashes to {actual}, but the event's golden is {golden.GetString()}";
    }
}
