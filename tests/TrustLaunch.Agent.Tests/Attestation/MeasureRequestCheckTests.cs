using System.Text.Json;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Golden;

namespace TrustLaunch.Agent.Tests.Attestation;

public sealed class MeasureRequestCheckTests
{
    [Fact]
    public void Validate_KnownOperationWithObject_Accepted() =>
        Assert.Null(MeasureRequestCheck.Validate(new MeasureRequest("ContainerStarted", Json("{\"container\":\"c1\"}"))));

    [Fact]
    public void Validate_UnknownOperation_NamesTheKnownOnes() =>
        Assert.Equal(
            "unknown operation 'RunAnything': expected one of ContainerCreated, ContainerDeleted, ContainerExec, ContainerStarted, ContainerStopped, ImagePulled, ImageRejected, ImageVerified, PodSandboxCreated, PodSandboxRemoved, PodSandboxStopped",
            MeasureRequestCheck.Validate(new MeasureRequest("RunAnything", Json("{}"))));

    [Theory]
    [InlineData("KeyReleased", "{\"broker\":\"https://kbs:8080\",\"resource\":\"kbs:///default/key/a\"}")]
    [InlineData("SecretReleased", "{\"name\":\"db\",\"sealed_digest\":\"sha256:00\"}")]
    public void Validate_ReleaseEvent_RefusedAsTheAgentsOwn(string operation, string content) =>
        Assert.Equal($"{operation} is measured by the agent itself when the key broker releases to it, never through the measure API",
            MeasureRequestCheck.Validate(new MeasureRequest(operation, Json(content))));

    [Fact]
    public void Validate_WorkloadEvent_RefusedAsTheGatewaysOwn() =>
        Assert.Equal("WorkloadEvent is measured by the agent itself for the container whose workload gateway is called, never through the measure API",
            MeasureRequestCheck.Validate(new MeasureRequest("WorkloadEvent", Json("{\"container\":\"c\",\"domain\":\"d\",\"operation\":\"o\",\"content\":\"x\"}"))));

    [Fact]
    public void Validate_ContentNotAnObject_Refused() =>
        Assert.Equal("content must be a JSON object, not Array",
            MeasureRequestCheck.Validate(new MeasureRequest("ContainerStarted", Json("[1]"))));

    [Fact]
    public void Validate_ImageVerifiedWithMatchingGoldenValue_Accepted() =>
        Assert.Null(MeasureRequestCheck.Validate(new MeasureRequest("ImageVerified", ImageVerified(GoldenValue.JwsDigest(Golden)), Golden)));

    [Fact]
    public void Validate_ImageVerifiedWithoutGoldenValue_Refused() =>
        Assert.Equal("ImageVerified needs golden_value: the JWS of the golden value the image was checked against",
            MeasureRequestCheck.Validate(new MeasureRequest("ImageVerified", ImageVerified(GoldenValue.JwsDigest(Golden)))));

    [Fact]
    public void Validate_ImageVerifiedGoldenValueOfAnotherDigest_Refused() =>
        Assert.Equal($"golden_value hashes to {GoldenValue.JwsDigest(Golden)}, but the event's golden is sha256:{new string('0', 64)}",
            MeasureRequestCheck.Validate(new MeasureRequest("ImageVerified", ImageVerified("sha256:" + new string('0', 64)), Golden)));

    [Fact]
    public void Validate_ImageVerifiedWithoutGolden_Refused() =>
        Assert.Equal("ImageVerified content has no string 'golden'",
            MeasureRequestCheck.Validate(new MeasureRequest("ImageVerified", Json("{\"digest\":\"x\"}"), Golden)));

    [Fact]
    public void Validate_GoldenValueNeitherJwsSerialization_Refused() =>
        Assert.Equal("golden_value is neither a compact JWS (base64url parts joined by '.') nor JWS JSON in printable ASCII",
            MeasureRequestCheck.Validate(new MeasureRequest("ImageVerified", ImageVerified("sha256:" + new string('0', 64)), "e30.e30.c2ln\n")));

    [Fact]
    public void Validate_GoldenValueOnAnotherOperation_Refused() =>
        Assert.Equal("golden_value belongs to ImageVerified only, not ContainerStarted",
            MeasureRequestCheck.Validate(new MeasureRequest("ContainerStarted", Json("{\"container\":\"c1\"}"), Golden)));

    private const string Golden = "e30.e30.c2ln";

    private static JsonElement ImageVerified(string golden) => Json($"{{\"golden\":\"{golden}\"}}");

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
