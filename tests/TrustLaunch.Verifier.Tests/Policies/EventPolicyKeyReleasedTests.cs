using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

/// <summary><c>KeyReleased</c> (the agent after a key broker released a resource) is informative but must be well formed.</summary>
public sealed class EventPolicyKeyReleasedTests
{
    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(digests: ["sha256:" + new string('3', 64)]));

    private string? Judge(string content) =>
        EventPolicy.Evaluate(_policy, 7, $"{LaunchEvents.Domain} {LaunchEvents.KeyReleased} {content}", new EventContext([], [], null, DateTimeOffset.UtcNow));

    [Fact]
    public void KeyReleased_ResourceUriAndBroker_Accepted()
    {
        var released = JsonSerializer.Serialize(new KeyReleasedEvent("kbs:///default/key/app", "https://kbs:8080"), LaunchEventsJsonContext.Default.KeyReleasedEvent);

        Assert.Null(Judge(released));
    }

    [Fact]
    public void KeyReleased_WithoutBroker_Failed()
    {
        Assert.Equal("event 7 (KeyReleased): content has no string 'broker'", Judge("""{"resource":"kbs:///default/key/app"}"""));
    }

    [Fact]
    public void KeyReleased_ResourceNotAKbsUri_Failed()
    {
        Assert.Equal("event 7 (KeyReleased): resource 'https://x/default/key/app' is not a kbs:///REPOSITORY/TYPE/TAG URI",
            Judge("""{"broker":"https://kbs:8080","resource":"https://x/default/key/app"}"""));
        Assert.Equal("event 7 (KeyReleased): resource 'kbs:///' is not a kbs:///REPOSITORY/TYPE/TAG URI", Judge("""{"broker":"b","resource":"kbs:///"}"""));
    }
}
