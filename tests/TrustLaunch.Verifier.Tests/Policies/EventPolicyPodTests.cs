using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests.Policies;

/// <summary>The CRI endpoint's events: pod sandbox events are informative but must be well formed; CRI containers are tracked like the others.</summary>
public sealed class EventPolicyPodTests
{
    private static readonly string ByDigest = "sha256:" + new string('3', 64);
    private readonly AttestationPolicy _policy = TestPolicies.Compile(TestPolicies.Document(digests: [ByDigest]));

    private string? Judge(string operation, string content, EventContext context) =>
        EventPolicy.Evaluate(_policy, 5, $"{LaunchEvents.Domain} {operation} {content}", context);

    private static EventContext Context() => new([], [], null, DateTimeOffset.UtcNow);

    private static string Pod(string pod) => JsonSerializer.Serialize(new PodSandboxEvent(pod), LaunchEventsJsonContext.Default.PodSandboxEvent);

    [Fact]
    public void PodSandboxEvents_WellFormed_Accepted()
    {
        var context = Context();
        var created = JsonSerializer.Serialize(new PodSandboxCreatedEvent("p1", "web-0", "tenant-a", "uid-1"), LaunchEventsJsonContext.Default.PodSandboxCreatedEvent);

        Assert.Null(Judge(LaunchEvents.PodSandboxCreated, created, context));
        Assert.Null(Judge(LaunchEvents.PodSandboxStopped, Pod("p1"), context));
        Assert.Null(Judge(LaunchEvents.PodSandboxRemoved, Pod("p1"), context));
    }

    [Fact]
    public void PodSandboxCreated_WithoutUid_Failed()
    {
        Assert.Equal("event 5 (PodSandboxCreated): content has no string 'uid'",
            Judge(LaunchEvents.PodSandboxCreated, """{"name":"web-0","namespace":"tenant-a","pod":"p1"}""", Context()));
    }

    [Fact]
    public void PodSandboxStopped_EmptyOrControlCharacterPod_Failed()
    {
        Assert.Equal("event 5 (PodSandboxStopped): pod id is empty or holds a control character", Judge(LaunchEvents.PodSandboxStopped, Pod(""), Context()));
        Assert.Equal("event 5 (PodSandboxRemoved): pod id is empty or holds a control character", Judge(LaunchEvents.PodSandboxRemoved, Pod("p\n1"), Context()));
        Assert.Equal("event 5 (PodSandboxRemoved): content has no string 'pod'", Judge(LaunchEvents.PodSandboxRemoved, """{"pod":1}""", Context()));
    }

    [Fact]
    public void CriContainer_WithPodNameAndUid_TrackedLikeAnyOther()
    {
        var context = Context();
        var created = JsonSerializer.Serialize(new ContainerCreatedEvent("c1", "p1", "tenant-a", "docker.io/library/app:1", ByDigest, "sha256:" + new string('c', 64),
            ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault, "web-0", "uid-1"), LaunchEventsJsonContext.Default.ContainerCreatedEvent);

        Assert.Null(Judge(LaunchEvents.ContainerCreated, created, context));
        Assert.Null(Judge(LaunchEvents.ContainerStarted, """{"container":"c1"}""", context));
        Assert.Null(Judge(LaunchEvents.ContainerDeleted, """{"container":"c1"}""", context));
        Assert.Equal("event 5 (ContainerStarted): container 'c1' was not created earlier in this boot's log", Judge(LaunchEvents.ContainerStarted, """{"container":"c1"}""", context));
    }
}
