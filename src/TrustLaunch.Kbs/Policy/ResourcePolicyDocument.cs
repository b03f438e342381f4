using System.Text.Json.Serialization;

namespace TrustLaunch.Kbs.Policy;

/// <summary>
/// The broker's resource policy: a resource may be read when one rule names it (<c>resources</c>, globs on
/// <c>repository/type/tag</c>) and every condition the rule gives holds of what the verifier established of the node:
/// <c>agents</c> (globs on the agent id), <c>verifier_policies</c> (the verifier policy the node is held to),
/// <c>image_digests</c> (at least one of them verified in the node's current boot), <c>namespaces</c> (the node's
/// verifier policy confines its containers to these: a node whose policy allows any namespace never matches, and
/// one that starts a container elsewhere is failed by the verifier), <c>container_images</c> (globs on the image
/// manifest digest of the calling container, as the verifier saw it created in the node's log: only a container
/// asking through its workload gateway can match, never the node itself; and a container matches no rule without
/// it). No rule: denied.
/// </summary>
public sealed record ResourcePolicyDocument([property: JsonPropertyName("rules")] IReadOnlyList<ResourceRule> Rules);

public sealed record ResourceRule(
    [property: JsonPropertyName("resources")] IReadOnlyList<string> Resources,
    [property: JsonPropertyName("agents")] IReadOnlyList<string>? Agents = null,
    [property: JsonPropertyName("verifier_policies")] IReadOnlyList<string>? VerifierPolicies = null,
    [property: JsonPropertyName("image_digests")] IReadOnlyList<string>? ImageDigests = null,
    [property: JsonPropertyName("namespaces")] IReadOnlyList<string>? Namespaces = null,
    [property: JsonPropertyName("container_images")] IReadOnlyList<string>? ContainerImages = null);

/// <summary>What the admin API answers for <c>GET /kbs/v0/admin/policy</c> and <c>PUT</c>.</summary>
public sealed record ResourcePolicyVersion([property: JsonPropertyName("version")] int Version);

public sealed record ResourcePolicyView(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("policy")] ResourcePolicyDocument Policy);

/// <summary>One entry of <c>GET /kbs/v0/admin/resources</c>.</summary>
public sealed record ResourceListing(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("updated")] DateTimeOffset Updated);

/// <summary>Strict JSON for the policy and the admin API: unknown members, missing required members and nulls for
/// non-nullable ones are refused naming the member.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ResourcePolicyDocument))]
[JsonSerializable(typeof(ResourcePolicyVersion))]
[JsonSerializable(typeof(ResourcePolicyView))]
[JsonSerializable(typeof(IReadOnlyList<ResourceListing>))]
public sealed partial class KbsAdminJsonContext : JsonSerializerContext;
