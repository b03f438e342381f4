using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TrustLaunch.Measurement.Tests;

public class EventLineTests
{
    private static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Format_ProtocolExample_SingleSpacesAndCanonicalContent() =>
        Assert.Equal(
            "github.com/confidential-containers PullImage {\"digest\":\"sha256:ab\",\"image\":\"alpine\"}",
            EventLine.Format("github.com/confidential-containers", "PullImage", Json("{ \"image\": \"alpine\", \"digest\": \"sha256:ab\" }")));

    [Theory]
    [InlineData("", "Op", "the event line domain is empty (Parameter 'domain')")]
    [InlineData("trust launch", "Op", "the event line domain 'trust launch' holds whitespace (Parameter 'domain')")]
    [InlineData("trustlaunch", "", "the event line operation is empty (Parameter 'operation')")]
    [InlineData("trustlaunch", "Op\t2", "the event line operation 'Op\t2' holds whitespace (Parameter 'operation')")]
    public void Format_BadDomainOrOperation_Refused(string domain, string operation, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => EventLine.Format(domain, operation, Json("{}"))).Message);

    [Fact]
    public void Format_ContentWithLineBreaks_EscapedSoTheLineHasNone()
    {
        var line = EventLine.Format("trustlaunch", "ContainerExec", Json("{\"command\":[\"sh\",\"-c\",\"a\\nb\\r\"]}"));
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.Equal("a\nb\r", EventLine.Parse(line).Content.GetProperty("command")[2].GetString());
    }

    [Fact]
    public void Parse_FormattedLine_RoundTrips()
    {
        var line = LaunchEventLines.ImagePulled(new ImagePulledEvent("alpine:3", "sha256:00"));
        var parsed = EventLine.Parse(line);
        Assert.Equal(("trustlaunch", "ImagePulled"), (parsed.Domain, parsed.Operation));
        Assert.Equal("sha256:00", parsed.Content.GetProperty("digest").GetString());
        Assert.Equal(line, EventLine.Format(parsed.Domain, parsed.Operation, parsed.Content));
    }

    [Theory]
    [InlineData("", "event line has no domain")]
    [InlineData(" Op {}", "event line has no domain")]
    [InlineData("trustlaunch", "event line has no operation")]
    [InlineData("trustlaunch ", "event line has no operation")]
    [InlineData("trustlaunch  {}", "event line has no operation")]
    [InlineData("trustlaunch Op", "event line has no content")]
    [InlineData("trust\tlaunch Op {}", "event line domain 'trust\tlaunch' holds whitespace")]
    [InlineData("trustlaunch Op\u00a0x {}", "event line operation 'Op\u00a0x' holds whitespace")]
    [InlineData("trustlaunch Op {}\n", "event line holds a line break at offset 17")]
    [InlineData("trustlaunch Op {\"a\":1,\"b\":2}\r", "event line holds a line break at offset 28")]
    [InlineData("trustlaunch Op {\"b\":1,\"a\":2}", "event line content is not in RFC 8785 canonical form")]
    [InlineData("trustlaunch Op { }", "event line content is not in RFC 8785 canonical form")]
    [InlineData("trustlaunch Op {\"a\":1.0}", "event line content is not in RFC 8785 canonical form")]
    public void Parse_Malformed_RefusedWithReason(string line, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => EventLine.Parse(line)).Message);

    [Fact]
    public void Parse_ContentNotJson_RefusedWithReason() =>
        Assert.StartsWith("event line content is not JSON: ", Assert.Throws<FormatException>(() => EventLine.Parse("trustlaunch Op {a}")).Message);

    [Fact]
    public void Digest_IsSha256OfUtf8Line()
    {
        var line = LaunchEventLines.ContainerExec(new ContainerExecEvent("c1", ["echo", "€"]));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(line)), EventLine.Digest(line));
        var longLine = LaunchEventLines.ImageRejected(new ImageRejectedEvent("x", "", new string('é', 3000)));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(longLine)), EventLine.Digest(longLine));
    }

    [Fact]
    public void LaunchEventLines_EveryOperation_UsesItsNameAndSnakeCaseMembers()
    {
        string[] lines =
        [
            LaunchEventLines.ImagePulled(new("i", "d")),
            LaunchEventLines.ImageVerified(new("i", "d", "local", "kid", "g", "r")),
            LaunchEventLines.ImageRejected(new("i", "", "why")),
            LaunchEventLines.ContainerCreated(new("c", "p", "ns", "i", "d", "cfg", ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault)),
            LaunchEventLines.ContainerStarted(new("c")),
            LaunchEventLines.ContainerStopped(new("c", 137)),
            LaunchEventLines.ContainerDeleted(new("c")),
            LaunchEventLines.ContainerExec(new("c", ["sh"])),
            LaunchEventLines.PodSandboxCreated(new("p", "web-0", "ns", "u")),
            LaunchEventLines.PodSandboxStopped(new("p")),
            LaunchEventLines.PodSandboxRemoved(new("p")),
            LaunchEventLines.KeyReleased(new("kbs:///default/key/app", "https://kbs.example:8080")),
            LaunchEventLines.SecretReleased(new("db-password", "sha256:00ff")),
            LaunchEventLines.WorkloadEvent(new("c", "app.example", "Configured", "v=1")),
        ];
        Assert.Equal(LaunchEvents.Operations.Order(), lines.Select(l => EventLine.Parse(l).Operation).Order());
        Assert.Equal("trustlaunch PodSandboxCreated {\"name\":\"web-0\",\"namespace\":\"ns\",\"pod\":\"p\",\"uid\":\"u\"}", lines[8]);
        Assert.Equal("trustlaunch PodSandboxRemoved {\"pod\":\"p\"}", lines[10]);
        Assert.Equal("trustlaunch KeyReleased {\"broker\":\"https://kbs.example:8080\",\"resource\":\"kbs:///default/key/app\"}", lines[11]);
        Assert.Equal("trustlaunch SecretReleased {\"name\":\"db-password\",\"sealed_digest\":\"sha256:00ff\"}", lines[12]);
        Assert.Equal("trustlaunch WorkloadEvent {\"container\":\"c\",\"content\":\"v=1\",\"domain\":\"app.example\",\"operation\":\"Configured\"}", lines[13]);
        Assert.Equal(
            "trustlaunch ContainerCreated {\"config\":\"cfg\",\"container\":\"c\",\"digest\":\"d\",\"image\":\"i\",\"namespace\":\"ns\",\"network\":\"pod\",\"pod\":\"p\",\"pod_name\":\"web-0\",\"pod_uid\":\"u\",\"seccomp\":\"default\"}",
            LaunchEventLines.ContainerCreated(new("c", "p", "ns", "i", "d", "cfg", ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault, "web-0", "u")));
        Assert.Equal("trustlaunch ContainerStopped {\"container\":\"c\",\"exit_code\":137}", lines[5]);
        Assert.Equal(
            "trustlaunch ContainerCreated {\"config\":\"cfg\",\"container\":\"c\",\"digest\":\"d\",\"image\":\"i\",\"namespace\":\"ns\",\"network\":\"pod\",\"pod\":\"p\",\"seccomp\":\"default\"}",
            lines[3]);
    }
}
