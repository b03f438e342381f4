using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

public sealed class PolicyValidationTests
{
    [Fact]
    public void FindProblem_GoodPolicy_Null() => Assert.Null(PolicyValidation.FindProblem(TestPolicies.Document()));

    [Theory]
    [InlineData(16)]
    [InlineData(23)]
    public void FindProblem_ResettableLaunchPcr_Refused(int pcr) =>
        Assert.Equal($"launch_pcr {pcr} is not usable: 0-23, never 16 (debug) or 23 (application, resettable)",
            PolicyValidation.FindProblem(TestPolicies.Document() with { LaunchPcr = pcr }));

    [Fact]
    public void FindProblem_BadDigest_Refused() =>
        Assert.Equal("allowed image digest 'sha256:abc' is not sha256:<64 lowercase hex>",
            PolicyValidation.FindProblem(TestPolicies.Document(digests: ["sha256:abc"])));

    [Fact]
    public void FindProblem_PublisherKeyIdNotTheKeys_Refused()
    {
        var policy = TestPolicies.Document() with { TrustedPublishers = new Dictionary<string, string> { ["wrong"] = TestPolicies.PublisherPem } };

        Assert.Equal($"trusted publisher 'wrong': the key's id is '{TestPolicies.PublisherKeyId}'", PolicyValidation.FindProblem(policy));
    }

    [Fact]
    public void FindProblem_BadName_Refused() =>
        Assert.Equal("name 'a b' must be 1 to 64 ASCII letters, digits, '-', '_' or '.'", PolicyValidation.FindProblem(TestPolicies.Document(name: "a b")));

    [Fact]
    public void FindProblem_ExpectedValueForLaunchPcr_Refused() =>
        Assert.Equal("expected PCR 11 is the launch PCR, whose value comes from the log",
            PolicyValidation.FindProblem(TestPolicies.Document(expectedPcrs: new Dictionary<int, string> { [11] = new string('0', 64) })));
}
