using System.Globalization;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The broker as attesters reach it directly (tests play the attester with <see cref="KbsBrokerStack.EvidenceAsync"/>),
/// refusing appraisals older than <see cref="MaxAppraisalAge"/>; <see cref="KbsBrokerStack.Kbs"/> is killed and
/// restarted by crash tests. Node 0 stays Attested; tests that fail a node use node 1.
/// </summary>
public sealed class KbsStackFixture : KbsBrokerStack
{
    /// <summary>The collection whose classes share one stack, one class at a time.</summary>
    public const string Collection = "kbs-stack";

    public static readonly TimeSpan MaxAppraisalAge = TimeSpan.FromSeconds(3);

    /// <summary><c>default/key/*</c> to nodes under verifier policy <c>prod</c>, <c>node1/*/*</c> to node 1 only,
    /// <c>team-a/*/*</c> to nodes confined to namespace team-a (none: <c>prod</c> allows any namespace).</summary>
    public override string ResourcePolicyJson => $$"""
        {"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]},{"resources":["node1/*/*"],"agents":["{{Nodes[1].AgentId}}"]},{"resources":["team-a/*/*"],"namespaces":["team-a"]}]}
        """;

    protected override IReadOnlyList<string> BrokerArguments =>
        ["--max-appraisal-age", MaxAppraisalAge.TotalSeconds.ToString(CultureInfo.InvariantCulture)];
}

[CollectionDefinition(KbsStackFixture.Collection)]
public sealed class KbsStackCollection : ICollectionFixture<KbsStackFixture>;
