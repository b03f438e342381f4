using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

/// <summary><c>SecretReleased</c> (the agent after unsealing a sealed secret) is informative but must be well formed.</summary>
public sealed class EventPolicySecretReleasedTests
{
    private static readonly string Digest = "sha256:" + new string('a', 64);
    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(digests: ["sha256:" + new string('3', 64)]));

    private string? Judge(string content) =>
        EventPolicy.Evaluate(_policy, 7, $"{LaunchEvents.Domain} {LaunchEvents.SecretReleased} {content}", new EventContext([], [], null, DateTimeOffset.UtcNow));

    [Fact]
    public void SecretReleased_NameAndDigest_Accepted() =>
        Assert.Null(Judge(JsonSerializer.Serialize(new SecretReleasedEvent("db-password", Digest), LaunchEventsJsonContext.Default.SecretReleasedEvent)));

    [Fact]
    public void SecretReleased_WithoutDigest_Failed() =>
        Assert.Equal("event 7 (SecretReleased): content has no string 'sealed_digest'", Judge("""{"name":"db"}"""));

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\nb")]
    public void SecretReleased_NameNotAFileName_Failed(string name) =>
        Assert.Equal("event 7 (SecretReleased): name is not 1-255 letters, digits, '.', '_' or '-'",
            Judge(JsonSerializer.Serialize(new SecretReleasedEvent(name, Digest), LaunchEventsJsonContext.Default.SecretReleasedEvent)));

    [Theory]
    [InlineData("sha256:AAAA")]
    [InlineData("sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void SecretReleased_DigestNotSha256Hex_Failed(string digest) =>
        Assert.Equal("event 7 (SecretReleased): sealed_digest is not sha256:<64 lowercase hex>",
            Judge(JsonSerializer.Serialize(new SecretReleasedEvent("db", digest), LaunchEventsJsonContext.Default.SecretReleasedEvent)));
}
