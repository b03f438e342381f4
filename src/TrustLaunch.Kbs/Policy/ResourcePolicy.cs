using System.Text.Json;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Policy;

/// <summary>What the verifier established of a node, which the resource policy decides on (never the node's claims):
/// the agent, the verifier policy it is held to, the images verified this boot, and the namespaces that policy confines
/// its containers to (empty: any), and the containers its log created this boot and has not deleted (id → image manifest
/// digest).</summary>
public sealed record NodeFacts(string AgentId, string VerifierPolicy, IReadOnlySet<string> VerifiedImages, IReadOnlyList<string> ConfinedNamespaces)
{
    public IReadOnlyDictionary<string, string> Containers { get; init; } = new Dictionary<string, string>();
}

/// <summary>A parsed, checked policy version (<see cref="ResourcePolicyDocument"/>) and its decisions.</summary>
public sealed class ResourcePolicy
{
    public const int MaxRules = 1000;

    private ResourcePolicy(int version, ResourcePolicyDocument document)
    {
        Version = version;
        Document = document;
    }

    /// <summary>Version 0: no policy stored yet; denies everything.</summary>
    public static ResourcePolicy None { get; } = new(0, new ResourcePolicyDocument([]));

    public int Version { get; }
    public ResourcePolicyDocument Document { get; }

    /// <exception cref="FormatException">Not JSON of a policy, or a rule that could never match (the reason named).</exception>
    public static ResourcePolicy Parse(int version, string json)
    {
        ResourcePolicyDocument document;
        try
        {
            document = JsonSerializer.Deserialize(json, KbsAdminJsonContext.Default.ResourcePolicyDocument)
                ?? throw new FormatException("the policy is null");
        }
        catch (JsonException e)
        {
            throw new FormatException($"the policy is not valid JSON of a resource policy: {e.Message}");
        }
        if (document.Rules.Count > MaxRules)
            throw new FormatException($"the policy has {document.Rules.Count} rules; at most {MaxRules}");
        for (var i = 0; i < document.Rules.Count; i++)
        {
            if (RuleProblem(document.Rules[i]) is { } problem)
                throw new FormatException($"rule {i}: {problem}");
        }
        return new ResourcePolicy(version, document);
    }

    /// <summary>Null when <paramref name="node"/> may read <paramref name="path"/>, else why not.</summary>
    /// <param name="container">The container of the node that asks (its workload gateway) with the image the node says it
    /// runs, or null for the node itself. A rule with <c>container_images</c> matches only a container the verifier saw
    /// created with that very image, and never the node itself; a rule without matches only the node itself, so what
    /// the node may read (its images' keys, its secrets' keys) no container reads unless a rule grants it.</param>
    public string? Refusal(ResourcePath path, NodeFacts node, ContainerEvidence? container = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(node);
        var name = path.ToString();
        if (container is not null && ContainerProblem(node, container) is { } problem)
            return problem;
        var image = container?.Image;
        foreach (var rule in Document.Rules)
        {
            if (rule.Resources.Any(g => Glob.Matches(g, name, segmented: true))
                && (rule.Agents is null || rule.Agents.Any(g => Glob.Matches(g, node.AgentId, segmented: false)))
                && (rule.VerifierPolicies is null || rule.VerifierPolicies.Contains(node.VerifierPolicy, StringComparer.Ordinal))
                && (rule.ImageDigests is null || rule.ImageDigests.Any(node.VerifiedImages.Contains))
                && (rule.Namespaces is null || (node.ConfinedNamespaces.Count > 0 && node.ConfinedNamespaces.All(rule.Namespaces.Contains)))
                && (rule.ContainerImages is null
                    ? container is null
                    : image is { Length: > 0 } && rule.ContainerImages.Any(g => Glob.Matches(g, image, segmented: false))))
                return null;
        }
        var asker = container is null ? $"agent '{node.AgentId}'" : $"container '{container.Id}' (image {container.Image}) of agent '{node.AgentId}'";
        return Version == 0
            ? $"no resource policy is set: {name} is denied to {asker}"
            : $"no rule of resource policy version {Version} lets {asker} (verifier policy '{node.VerifierPolicy}') read {name}";
    }

    /// <summary>The node's word on a container is checked against the verifier's view of its log.</summary>
    private static string? ContainerProblem(NodeFacts node, ContainerEvidence container)
    {
        if (!node.Containers.TryGetValue(container.Id, out var seen))
            return $"container '{container.Id}' of agent '{node.AgentId}' was not created in the verifier's view of the node's log";
        return seen == container.Image ? null
            : $"container '{container.Id}' of agent '{node.AgentId}' runs image {(seen.Length > 0 ? seen : "(unknown)")} in the verifier's view of the node's log, not {container.Image}";
    }

    private static string? RuleProblem(ResourceRule rule)
    {
        if (rule.Resources.Count == 0)
            return "'resources' is empty: the rule would match nothing";
        foreach (var (member, list) in new[] { ("agents", rule.Agents), ("verifier_policies", rule.VerifierPolicies), ("image_digests", rule.ImageDigests), ("namespaces", rule.Namespaces), ("container_images", rule.ContainerImages) })
        {
            if (list is { Count: 0 })
                return $"'{member}' is empty: the rule would match nothing (leave it out to not restrict by it)";
        }
        if (rule.Resources.FirstOrDefault(g => g.Split('/').Length != 3 || g.Any(char.IsControl)) is { } bad)
            return $"resource glob '{bad}' is not repository/type/tag";
        if (rule.ImageDigests?.FirstOrDefault(d => !d.StartsWith("sha256:", StringComparison.Ordinal) || d.Length != 71) is { } digest)
            return $"image digest '{digest}' is not sha256:<64 hex>";
        return null;
    }
}

/// <summary>Globs: <c>*</c> any run of characters, <c>?</c> one; in resource paths neither crosses a <c>/</c>.</summary>
internal static class Glob
{
    public static bool Matches(string pattern, string value, bool segmented) => Match(pattern, 0, value, 0, segmented);

    private static bool Match(string p, int pi, string v, int vi, bool segmented)
    {
        while (pi < p.Length)
        {
            var c = p[pi];
            if (c == '*')
            {
                for (var end = vi; ; end++)
                {
                    if (Match(p, pi + 1, v, end, segmented))
                        return true;
                    if (end == v.Length || (segmented && v[end] == '/'))
                        return false;
                }
            }
            if (vi == v.Length || (c == '?' ? segmented && v[vi] == '/' : c != v[vi]))
                return false;
            pi++;
            vi++;
        }
        return vi == v.Length;
    }
}
