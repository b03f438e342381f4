using System.Text.Json;

namespace TrustLaunch.Verifier.Policies;

public static partial class EventPolicy
{
    /// <summary>The event's container must have been created earlier in this boot and not deleted since.</summary>
    private static string? CreatedContainer(JsonElement content, EventContext context, out string container)
    {
        container = "";
        if (Require(content, "container") is { } missing)
            return missing;
        container = content.GetProperty("container").GetString()!;
        if (ContainerIdProblem(container) is { } badId)
            return badId;
        return context.CreatedContainers.ContainsKey(container) ? null : $"container '{container}' was not created earlier in this boot's log";
    }

    private static string? ContainerDeleted(JsonElement content, EventContext context)
    {
        if (CreatedContainer(content, context, out var container) is { } problem)
            return problem;
        context.CreatedContainers.Remove(container);
        return null;
    }

    /// <summary>A release to a container (its workload gateway) names one created earlier; one without is the node's.</summary>
    private static string? ReleasedTo(JsonElement content, EventContext context) =>
        content.TryGetProperty("container", out _) ? CreatedContainer(content, context, out _) : null;

    private static string? WorkloadEvent(JsonElement content, EventContext context)
    {
        // Without a container it is the node's own guest component's event.
        if (((content.TryGetProperty("container", out _) ? CreatedContainer(content, context, out _) : null) ?? Require(content, "domain", "operation", "content")) is { } problem)
            return problem;
        return Measurement.WorkloadEventEvent.Problem(content.GetProperty("domain").GetString()!, content.GetProperty("operation").GetString()!,
            content.GetProperty("content").GetString()!);
    }

    /// <summary>Every exec is measured; the policy's <c>exec</c> decides by the command's argv[0].</summary>
    private static string? ContainerExec(AttestationPolicy policy, JsonElement content, EventContext context)
    {
        if (CreatedContainer(content, context, out var container) is { } problem)
            return problem;
        if (!content.TryGetProperty("command", out var command) || command.ValueKind != JsonValueKind.Array || command.GetArrayLength() == 0
            || command.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
            return "content has no 'command' (a non-empty list of strings)";
        var executable = command[0].GetString()!;
        if (policy.AllowsExec(executable))
            return null;
        return policy.Exec.Kind == Hosting.Contracts.ExecPolicyKind.Deny
            ? $"exec of '{executable}' in container '{container}': {policy.Display} denies every exec"
            : $"exec of '{executable}' in container '{container}' is not allowed by {policy.Display} (exec: {policy.Exec})";
    }

    /// <summary>Ids are kept one per line (a tab, then the image digest) in the stored appraisal state: none may be empty or hold a control character.</summary>
    private static string? ContainerIdProblem(string container) =>
        container.Length == 0 || container.Any(char.IsControl) ? "container id is empty or holds a control character" : null;
}
