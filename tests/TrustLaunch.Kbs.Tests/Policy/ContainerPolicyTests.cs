using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Tests.Policy;

/// <summary>
/// <c>container_images</c>: a rule that names container images matches only a container of the node that the
/// verifier saw created with that very image; the node itself never matches it, and the node's word on a container
/// is checked against the verifier's view first.
/// </summary>
public sealed class ContainerPolicyTests
{
    private static readonly string Granted = "sha256:" + new string('a', 64);
    private static readonly string Other = "sha256:" + new string('b', 64);
    private static readonly NodeFacts Node = new("agent-7", "prod", new HashSet<string>(StringComparer.Ordinal), [])
    {
        Containers = new Dictionary<string, string> { ["web"] = Granted, ["db"] = Other },
    };

    private static readonly ResourcePolicy Policy =
        ResourcePolicy.Parse(4, $$"""{"rules":[{"resources":["default/app/*"],"container_images":["{{Granted}}"]}]}""");

    private static string? Decide(ContainerEvidence? container) => Policy.Refusal(ResourcePath.Parse("default/app/key"), Node, container);

    [Fact]
    public void Refusal_ContainerOfTheGrantedImage_Allowed()
    {
        Assert.Null(Decide(new ContainerEvidence("web", Granted)));
    }

    [Fact]
    public void Refusal_ContainerOfAnotherImage_DeniedNamingContainerAndImage()
    {
        Assert.Equal($"no rule of resource policy version 4 lets container 'db' (image {Other}) of agent 'agent-7' (verifier policy 'prod') read default/app/key",
            Decide(new ContainerEvidence("db", Other)));
    }

    [Fact]
    public void Refusal_ContainerAskingForWhatOnlyTheNodeIsGranted_Denied()
    {
        var policy = ResourcePolicy.Parse(5, """{"rules":[{"resources":["default/key/*"],"verifier_policies":["prod"]}]}""");

        Assert.Null(policy.Refusal(ResourcePath.Parse("default/key/image-kek"), Node));
        Assert.Equal($"no rule of resource policy version 5 lets container 'web' (image {Granted}) of agent 'agent-7' (verifier policy 'prod') read default/key/image-kek",
            policy.Refusal(ResourcePath.Parse("default/key/image-kek"), Node, new ContainerEvidence("web", Granted)));
    }

    [Fact]
    public void Refusal_TheNodeItself_NeverMatchesAContainerCondition()
    {
        Assert.Equal("no rule of resource policy version 4 lets agent 'agent-7' (verifier policy 'prod') read default/app/key", Decide(null));
    }

    [Fact]
    public void Refusal_ContainerTheVerifierDidNotSeeCreated_Denied()
    {
        Assert.Equal("container 'ghost' of agent 'agent-7' was not created in the verifier's view of the node's log",
            Decide(new ContainerEvidence("ghost", Granted)));
    }

    [Fact]
    public void Refusal_NodeClaimsAnotherImageThanTheVerifierSaw_Denied()
    {
        Assert.Equal($"container 'db' of agent 'agent-7' runs image {Other} in the verifier's view of the node's log, not {Granted}",
            Decide(new ContainerEvidence("db", Granted)));
    }

    [Fact]
    public void Refusal_ContainerOfAVerifierThatKeptNoDigest_DeniedAsUnknown()
    {
        var old = Node with { Containers = new Dictionary<string, string> { ["web"] = "" } };

        Assert.Equal($"container 'web' of agent 'agent-7' runs image (unknown) in the verifier's view of the node's log, not {Granted}",
            Policy.Refusal(ResourcePath.Parse("default/app/key"), old, new ContainerEvidence("web", Granted)));
    }

    [Fact]
    public void Parse_EmptyContainerImages_Refused()
    {
        var e = Assert.Throws<FormatException>(() => ResourcePolicy.Parse(1, """{"rules":[{"resources":["a/b/c"],"container_images":[]}]}"""));
        Assert.Equal("rule 0: 'container_images' is empty: the rule would match nothing (leave it out to not restrict by it)", e.Message);
    }

    [Fact]
    public void Decode_TheTwoMembers_RoundTrip()
    {
        var evidence = new ContainerEvidence("web", Granted);

        Assert.Equal(evidence, ContainerEvidence.Decode(evidence.Encode()));
        Assert.Null(ContainerEvidence.Decode(""));
    }

    [Theory]
    [InlineData("""{"trustlaunch.container":"web"}""", "additional_evidence is not {\"trustlaunch.container\":\"ID\",\"trustlaunch.image\":\"sha256:…\"}")]
    [InlineData("""{"trustlaunch.container":"a b","trustlaunch.image":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""",
        "additional_evidence is not {\"trustlaunch.container\":\"ID\",\"trustlaunch.image\":\"sha256:…\"}: a container id is 1-255 characters without spaces or control characters")]
    [InlineData("""{"trustlaunch.container":"web","trustlaunch.image":"latest"}""",
        "additional_evidence is not {\"trustlaunch.container\":\"ID\",\"trustlaunch.image\":\"sha256:…\"}: the image is not sha256:<64 lowercase hex>")]
    [InlineData("not json", "additional_evidence is not {\"trustlaunch.container\":\"ID\",\"trustlaunch.image\":\"sha256:…\"}")]
    public void Decode_AnythingElse_RefusedAsInvalidRequest(string additional, string detail)
    {
        var e = Assert.Throws<KbsError>(() => ContainerEvidence.Decode(additional));
        Assert.Equal((KbsErrorNames.InvalidRequest, detail), (e.Name, e.Message));
    }
}
