using System.Text.Json;
using TrustLaunch.Measurement;

namespace TrustLaunch.Verifier.Policies;

/// <summary>
/// Judges one replayed launch event against a policy, believing none of the node's conclusions. An
/// <c>ImageVerified</c> counts only when the verifier verifies its golden value itself; images must be allowed by
/// digest, or vouched for by an allowed publisher in an earlier <c>ImageVerified</c> of the same boot; containers must
/// keep to the policy's namespaces, network and seccomp rules; every later container event must name a container
/// created earlier in the boot, and execs must be allowed. Pod sandbox events (the CRI endpoint's) are informative:
/// they must be well formed and are otherwise accepted; so is <c>KeyReleased</c> (a resource URI <c>kbs:///…</c> and
/// the broker) and <c>SecretReleased</c> (a secret name and the sealed form's sha256 digest), each of which may name the
/// container it went to (then one created earlier in the boot), and <c>WorkloadEvent</c> (a container's own event:
/// its container created earlier, never in domain <c>trustlaunch</c>). Any other domain or operation, or content that
/// is not the operation's JSON object, is out of policy.
/// </summary>
public static partial class EventPolicy
{
    /// <summary>Null when the event is within policy, else the reason (starting <c>event N (OPERATION): </c>).</summary>
    /// <param name="context">What earlier events of the boot established; an event within policy updates it.</param>
    public static string? Evaluate(AttestationPolicy policy, long recnum, string line, EventContext context)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(context);
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
                LaunchEvents.ImageVerified => ImageVerified(policy, root, context),
                LaunchEvents.ContainerCreated => ContainerCreated(policy, recnum, root, context),
                LaunchEvents.ImagePulled => Require(root, "image", "digest"),
                LaunchEvents.ImageRejected => Require(root, "image", "digest", "reason"),
                LaunchEvents.ContainerStarted => CreatedContainer(root, context, out _),
                LaunchEvents.ContainerStopped => CreatedContainer(root, context, out _) ?? RequireNumberOrNull(root, "exit_code"),
                LaunchEvents.ContainerDeleted => ContainerDeleted(root, context),
                LaunchEvents.ContainerExec => ContainerExec(policy, root, context),
                LaunchEvents.PodSandboxCreated => PodEvent(root, "name", "namespace", "uid"),
                LaunchEvents.PodSandboxStopped or LaunchEvents.PodSandboxRemoved => PodEvent(root),
                LaunchEvents.KeyReleased => KeyReleased(root) ?? ReleasedTo(root, context),
                LaunchEvents.SecretReleased => SecretReleased(root) ?? ReleasedTo(root, context),
                LaunchEvents.WorkloadEvent => WorkloadEvent(root, context),
                _ => $"operation '{operation}' has no rule in the verifier",
            } is { } problem ? $"event {recnum} ({operation}): {problem}" : null;
        }
        catch (JsonException)
        {
            return $"event {recnum} ({operation}): content is not JSON";
        }
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

    private static string? PodEvent(JsonElement content, params ReadOnlySpan<string> members)
    {
        if ((Require(content, "pod") ?? Require(content, members)) is { } missing)
            return missing;
        return content.GetProperty("pod").GetString() is { Length: > 0 } pod && !pod.Any(char.IsControl) ? null : "pod id is empty or holds a control character";
    }

    private static string? KeyReleased(JsonElement content)
    {
        if (Require(content, "resource", "broker") is { } missing)
            return missing;
        var resource = content.GetProperty("resource").GetString()!;
        if (!resource.StartsWith("kbs:///", StringComparison.Ordinal) || resource.Length == "kbs:///".Length || resource.Any(char.IsControl))
            return $"resource '{resource.ReplaceLineEndings(" ")}' is not a kbs:///REPOSITORY/TYPE/TAG URI";
        return content.GetProperty("broker").GetString()!.Any(char.IsControl) ? "broker holds a control character" : null;
    }

    private static string? SecretReleased(JsonElement content)
    {
        if (Require(content, "name", "sealed_digest") is { } missing)
            return missing;
        if (!SecretReleasedEvent.IsName(content.GetProperty("name").GetString()!))
            return "name is not 1-255 letters, digits, '.', '_' or '-'";
        return SecretReleasedEvent.IsDigest(content.GetProperty("sealed_digest").GetString()!) ? null : "sealed_digest is not sha256:<64 lowercase hex>";
    }

    // exit_code is null when the container's monitor died before it could reap the container.
    private static string? RequireNumberOrNull(JsonElement content, string member) =>
        content.TryGetProperty(member, out var value) && value.ValueKind is JsonValueKind.Number or JsonValueKind.Null ? null : $"content has no number or null '{member}'";
}
