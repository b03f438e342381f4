using System.Text.Json;
using TrustLaunch.Measurement;

namespace TrustLaunch.Verifier.Policies;

/// <summary>
/// Judges one replayed launch event against a policy. Images must be allowed by digest, or vouched for by an allowed
/// publisher in an earlier <c>ImageVerified</c> of the same boot; pods must use allowed namespaces; any other domain
/// or operation, or content that is not the operation's JSON object, is out of policy.
/// </summary>
public static class EventPolicy
{
    /// <summary>Null when the event is within policy, else the reason (starting <c>event N (OPERATION): </c>).</summary>
    /// <param name="verifiedImages">Digests allowed through their publisher so far this boot; an allowed
    /// <c>ImageVerified</c> adds to it.</param>
    public static string? Evaluate(AttestationPolicy policy, long recnum, string line, ISet<string> verifiedImages)
    {
        var firstSpace = line.IndexOf(' ', StringComparison.Ordinal);
        var secondSpace = firstSpace < 0 ? -1 : line.IndexOf(' ', firstSpace + 1);
        if (secondSpace < 0)
            return $"event {recnum}: not an event line (DOMAIN OPERATION CONTENT)";
        var domain = line.AsSpan(0, firstSpace);
        var operation = line[(firstSpace + 1)..secondSpace];
        if (!domain.SequenceEqual(LaunchEvents.Domain))
            return $"event {recnum}: domain '{domain}' is not {LaunchEvents.Domain}, out of {policy.Display}";
        if (!LaunchEvents.Operations.Contains(operation))
            return $"event {recnum}: operation '{operation}' is unknown, out of {policy.Display}";
        try
        {
            using var content = JsonDocument.Parse(line.AsMemory(secondSpace + 1));
            var root = content.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return $"event {recnum} ({operation}): content is not a JSON object";
            return operation switch
            {
                LaunchEvents.ImageVerified => ImageVerified(policy, root, verifiedImages),
                LaunchEvents.ContainerCreated => ContainerCreated(policy, root, verifiedImages),
                LaunchEvents.ImagePulled => Require(root, "image", "digest"),
                LaunchEvents.ImageRejected => Require(root, "image", "digest", "reason"),
                LaunchEvents.ContainerStopped => Require(root, "container") ?? RequireNumberOrNull(root, "exit_code"),
                _ => Require(root, "container"),
            } is { } problem ? $"event {recnum} ({operation}): {problem}" : null;
        }
        catch (JsonException)
        {
            return $"event {recnum} ({operation}): content is not JSON";
        }
    }

    private static string? ImageVerified(AttestationPolicy policy, JsonElement content, ISet<string> verifiedImages)
    {
        if (Require(content, "digest", "publisher") is { } missing)
            return missing;
        var digest = content.GetProperty("digest").GetString()!;
        if (policy.AllowsDigest(digest))
            return null;
        var publisher = content.GetProperty("publisher").GetString()!;
        if (!policy.AllowsPublisher(publisher))
            return $"image {digest} (publisher {publisher}) is not allowed by {policy.Display}";
        verifiedImages.Add(digest);
        return null;
    }

    private static string? ContainerCreated(AttestationPolicy policy, JsonElement content, ISet<string> verifiedImages)
    {
        if (Require(content, "container", "namespace", "digest") is { } missing)
            return missing;
        var digest = content.GetProperty("digest").GetString()!;
        if (!policy.AllowsDigest(digest) && !verifiedImages.Contains(digest))
            return $"image {digest} is not allowed by {policy.Display}";
        var ns = content.GetProperty("namespace").GetString()!;
        return policy.AllowsNamespace(ns) ? null : $"namespace '{ns}' is not allowed by {policy.Display}";
    }

    private static string? Require(JsonElement content, params ReadOnlySpan<string> members)
    {
        foreach (var member in members)
        {
            if (!content.TryGetProperty(member, out var value) || value.ValueKind != JsonValueKind.String)
                return $"content has no string '{member}'";
        }
        return null;
    }

    // exit_code is null when the container's monitor died before it could reap the container.
    private static string? RequireNumberOrNull(JsonElement content, string member) =>
        content.TryGetProperty(member, out var value) && value.ValueKind is JsonValueKind.Number or JsonValueKind.Null ? null : $"content has no number or null '{member}'";
}
