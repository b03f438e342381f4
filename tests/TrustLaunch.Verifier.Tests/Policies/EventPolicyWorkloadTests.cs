using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

/// <summary>
/// What the workload gateway measures: <c>WorkloadEvent</c> names a container created earlier in the boot and never
/// domain <c>trustlaunch</c>; a release (<c>KeyReleased</c>, <c>SecretReleased</c>) that names a container names one
/// created earlier too.
/// </summary>
public sealed class EventPolicyWorkloadTests
{
    private const string Digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(digests: [Digest]));

    private string? Judge(string operation, string content) =>
        EventPolicy.Evaluate(_policy, 7, $"{LaunchEvents.Domain} {operation} {content}",
            new EventContext([], [new KeyValuePair<string, string>("web", Digest)], null, DateTimeOffset.UtcNow));

    private static string Workload(string container, string domain, string content = "v=1") =>
        JsonSerializer.Serialize(new WorkloadEventEvent(container, domain, "Configured", content), LaunchEventsJsonContext.Default.WorkloadEventEvent);

    [Fact]
    public void WorkloadEvent_OfACreatedContainer_Accepted()
    {
        Assert.Null(Judge(LaunchEvents.WorkloadEvent, Workload("web", "app.example")));
    }

    [Fact]
    public void WorkloadEvent_OfTheNodesOwnGuestComponent_Accepted()
    {
        Assert.Null(Judge(LaunchEvents.WorkloadEvent, JsonSerializer.Serialize(new WorkloadEventEvent(null, "guest.example", "Mounted", "volume=data"),
            LaunchEventsJsonContext.Default.WorkloadEventEvent)));
    }

    [Fact]
    public void WorkloadEvent_OfAContainerNeverCreated_Failed()
    {
        Assert.Equal("event 7 (WorkloadEvent): container 'ghost' was not created earlier in this boot's log", Judge(LaunchEvents.WorkloadEvent, Workload("ghost", "app.example")));
    }

    [Fact]
    public void WorkloadEvent_InTrustLaunchsDomain_Failed()
    {
        Assert.Equal("event 7 (WorkloadEvent): domain 'trustlaunch' is TrustLaunch's own: a workload cannot append its events",
            Judge(LaunchEvents.WorkloadEvent, Workload("web", LaunchEvents.Domain)));
    }

    [Fact]
    public void WorkloadEvent_ContentWithAControlCharacter_Failed()
    {
        Assert.Equal("event 7 (WorkloadEvent): content is over 4096 characters or holds a control character",
            Judge(LaunchEvents.WorkloadEvent, Workload("web", "app.example", "a\nb")));
    }

    [Fact]
    public void KeyReleased_ToACreatedContainer_Accepted_ToAnUnknownOne_Failed()
    {
        string Released(string container) =>
            JsonSerializer.Serialize(new KeyReleasedEvent("kbs:///default/key/app", "https://kbs:8080", container), LaunchEventsJsonContext.Default.KeyReleasedEvent);

        Assert.Null(Judge(LaunchEvents.KeyReleased, Released("web")));
        Assert.Equal("event 7 (KeyReleased): container 'ghost' was not created earlier in this boot's log", Judge(LaunchEvents.KeyReleased, Released("ghost")));
    }

    [Fact]
    public void SecretReleased_ToAnUnknownContainer_Failed()
    {
        var released = JsonSerializer.Serialize(new SecretReleasedEvent("db", "sha256:" + new string('0', 64), "ghost"), LaunchEventsJsonContext.Default.SecretReleasedEvent);

        Assert.Equal("event 7 (SecretReleased): container 'ghost' was not created earlier in this boot's log", Judge(LaunchEvents.SecretReleased, released));
    }
}
