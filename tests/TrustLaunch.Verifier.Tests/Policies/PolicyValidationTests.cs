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

    [Theory]
    [InlineData("""{"mirrors":[]}""", "golden_trust: unknown member 'mirrors'")]
    [InlineData("""{"revoked":["md5:00"]}""", "golden_trust: revoked entry \"md5:00\" is not a digest")]
    [InlineData("""{"repositories":{"busybox":{},"docker.io/library/busybox":{}}}""",
        "golden_trust: repositories: 'docker.io/library/busybox' names docker.io/library/busybox, which is listed twice")]
    [InlineData("""[]""", "golden_trust: the policy is Array, expected Object")]
    public void FindProblem_MalformedGoldenTrust_RefusedNamingTheMember(string goldenTrust, string expected) =>
        Assert.Equal(expected, PolicyValidation.FindProblem(TestPolicies.Document() with { GoldenTrust = System.Text.Json.JsonDocument.Parse(goldenTrust).RootElement }));

    [Theory]
    [InlineData("all_of")]
    [InlineData("any_of")]
    public void FindProblem_GoldenTrustSignerNotATrustedPublisher_Refused(string member)
    {
        const string stranger = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        var goldenTrust = $$"""{"repositories":{"busybox":{"{{member}}":["{{TestPolicies.PublisherKeyId}}","{{stranger}}"] } } }""";

        Assert.Equal($"golden_trust: repositories.\"docker.io/library/busybox\".{member}: key {stranger} is not one of the trusted publisher keys, so no signature by it is ever checked",
            PolicyValidation.FindProblem(TestPolicies.Document() with { GoldenTrust = System.Text.Json.JsonDocument.Parse(goldenTrust).RootElement }));
    }

    [Fact]
    public void FindProblem_BadName_Refused() =>
        Assert.Equal("name 'a b' must be 1 to 64 ASCII letters, digits, '-', '_' or '.'", PolicyValidation.FindProblem(TestPolicies.Document(name: "a b")));

    [Fact]
    public void FindProblem_ExpectedValueForLaunchPcr_Refused() =>
        Assert.Equal("expected PCR 11 is the launch PCR, whose value comes from the log",
            PolicyValidation.FindProblem(TestPolicies.Document(expectedPcrs: new Dictionary<int, string> { [11] = new string('0', 64) })));

    [Fact]
    public void FindProblem_ExecListEmptyOrWithEmptyCommand_Refused()
    {
        Assert.Equal("exec lists no command: say \"deny\" to refuse every exec",
            PolicyValidation.FindProblem(TestPolicies.Document(exec: Hosting.Contracts.ExecPolicy.Only([]))));
        Assert.Equal("exec lists an empty command", PolicyValidation.FindProblem(TestPolicies.Document(exec: Hosting.Contracts.ExecPolicy.Only(["ls", ""]))));
    }

    [Theory]
    [InlineData("\"allow\"", "allow")]
    [InlineData("\"deny\"", "deny")]
    [InlineData("[\"/bin/ls\",\"cat\"]", "/bin/ls, cat")]
    public void PolicyDocument_ExecOnTheWire_RoundTrips(string exec, string expected)
    {
        var json = $$"""{"name":"p","trusted_publishers":{},"allowed_image_digests":[],"allowed_publishers":[],"allowed_namespaces":[],"launch_pcr":11,"expected_pcrs":{},"exec":{{exec}}}""";

        var document = System.Text.Json.JsonSerializer.Deserialize(json, Hosting.Contracts.ContractsJsonContext.Default.PolicyDocument)!;

        Assert.Equal(expected, document.Exec!.ToString());
        Assert.Contains($"\"exec\":{exec}", System.Text.Json.JsonSerializer.Serialize(document, Hosting.Contracts.ContractsJsonContext.Default.PolicyDocument), StringComparison.Ordinal);
        Assert.False(document.AllowHostNetwork || document.AllowUnconfinedSeccomp);
    }

    [Fact]
    public void PolicyDocument_ExecNeitherAllowDenyNorList_Refused()
    {
        const string json = """{"name":"p","trusted_publishers":{},"allowed_image_digests":[],"allowed_publishers":[],"allowed_namespaces":[],"launch_pcr":11,"expected_pcrs":{},"exec":"maybe"}""";

        var refused = Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize(json, Hosting.Contracts.ContractsJsonContext.Default.PolicyDocument));

        Assert.StartsWith("exec must be \"allow\", \"deny\" or a list of the commands (argv[0]) allowed, not \"maybe\"", refused.Message, StringComparison.Ordinal);
    }
}
