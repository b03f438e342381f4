using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Tests.Policy;

/// <summary>The resource policy decides on what the verifier established of a node; no rule, no release.</summary>
public sealed class ResourcePolicyTests
{
    private static readonly string Image = "sha256:" + new string('a', 64);
    private static readonly NodeFacts Node = new("agent-7", "prod", new HashSet<string>([Image], StringComparer.Ordinal), ["team-a"]);

    private static string? Decide(string rulesJson, string path, NodeFacts? node = null) =>
        ResourcePolicy.Parse(3, $$"""{"rules":[{{rulesJson}}]}""").Refusal(ResourcePath.Parse(path), node ?? Node);

    [Fact]
    public void Refusal_NoPolicyStored_DeniedNamingTheAgent()
    {
        Assert.Equal("no resource policy is set: default/key/1 is denied to agent 'agent-7'",
            ResourcePolicy.None.Refusal(ResourcePath.Parse("default/key/1"), Node));
    }

    [Theory]
    [InlineData("""{"resources":["default/key/*"]}""", "default/key/1", true)]
    [InlineData("""{"resources":["other/key/*"]}""", "default/key/1", false)]
    [InlineData("""{"resources":["default/*/1"]}""", "default/key/1", true)]
    [InlineData("""{"resources":["*/key/?"]}""", "default/key/12", false)]
    [InlineData("""{"resources":["default/key/*"],"agents":["agent-*"]}""", "default/key/1", true)]
    [InlineData("""{"resources":["default/key/*"],"agents":["agent-8"]}""", "default/key/1", false)]
    [InlineData("""{"resources":["default/key/*"],"verifier_policies":["prod"]}""", "default/key/1", true)]
    [InlineData("""{"resources":["default/key/*"],"verifier_policies":["staging"]}""", "default/key/1", false)]
    public void Refusal_ResourceAgentAndVerifierPolicyConditions(string rule, string path, bool allowed)
    {
        Assert.Equal(allowed, Decide(rule, path) is null);
    }

    [Fact]
    public void Refusal_ImageDigestVerifiedOnTheNode_Allowed_OtherwiseDenied()
    {
        var rule = $$"""{"resources":["default/key/*"],"image_digests":["{{Image}}"]}""";
        var without = Node with { VerifiedImages = new HashSet<string>(StringComparer.Ordinal) };

        Assert.Null(Decide(rule, "default/key/1"));
        Assert.Equal("no rule of resource policy version 3 lets agent 'agent-7' (verifier policy 'prod') read default/key/1", Decide(rule, "default/key/1", without));
    }

    [Theory]
    [InlineData(new[] { "team-a" }, true)]
    [InlineData(new[] { "team-a", "team-b" }, true)]
    [InlineData(new[] { "team-a", "kube-system" }, false)]
    [InlineData(new string[0], false)]
    public void Refusal_NamespacesTheNodesPolicyConfinesItTo_AllWithinTheRule(string[] confined, bool allowed)
    {
        var rule = """{"resources":["default/key/*"],"namespaces":["team-a","team-b"]}""";

        Assert.Equal(allowed, Decide(rule, "default/key/1", Node with { ConfinedNamespaces = confined }) is null);
    }

    [Theory]
    [InlineData("""{"resources":["a/b/c"],"namespaces":[]}""", "rule 0: 'namespaces' is empty: the rule would match nothing (leave it out to not restrict by it)")]
    [InlineData("""{"resources":[]}""", "rule 0: 'resources' is empty: the rule would match nothing")]
    [InlineData("""{"resources":["a/b/c"],"image_digests":[]}""", "rule 0: 'image_digests' is empty: the rule would match nothing (leave it out to not restrict by it)")]
    [InlineData("""{"resources":["a/b"]}""", "rule 0: resource glob 'a/b' is not repository/type/tag")]
    [InlineData("""{"resources":["a/b/c"],"image_digests":["sha256:00"]}""", "rule 0: image digest 'sha256:00' is not sha256:<64 hex>")]
    public void Parse_RuleThatCouldNeverMatch_RefusedNamingIt(string rule, string message)
    {
        var e = Assert.Throws<FormatException>(() => ResourcePolicy.Parse(1, $$"""{"rules":[{{rule}}]}"""));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("""{"rules":[{"resources":["a/b/c"],"namespace":["x"]}]}""")]
    [InlineData("""{"rules":[{"resources":["a/b/c"]}],"rules":[]}""")]
    [InlineData("""{"rules":null}""")]
    public void Parse_UnknownDuplicateOrNullMember_Refused(string json)
    {
        var e = Assert.Throws<FormatException>(() => ResourcePolicy.Parse(1, json));
        Assert.StartsWith("the policy is not valid JSON of a resource policy: ", e.Message);
    }
}
