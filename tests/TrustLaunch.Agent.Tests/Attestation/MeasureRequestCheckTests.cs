using System.Text.Json;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Tests.Attestation;

public sealed class MeasureRequestCheckTests
{
    [Fact]
    public void Validate_KnownOperationWithObject_Accepted() =>
        Assert.Null(MeasureRequestCheck.Validate(new MeasureRequest("ContainerStarted", Json("{\"container\":\"c1\"}"))));

    [Fact]
    public void Validate_UnknownOperation_NamesTheKnownOnes() =>
        Assert.Equal(
            "unknown operation 'RunAnything': expected one of ContainerCreated, ContainerDeleted, ContainerExec, ContainerStarted, ContainerStopped, ImagePulled, ImageRejected, ImageVerified",
            MeasureRequestCheck.Validate(new MeasureRequest("RunAnything", Json("{}"))));

    [Fact]
    public void Validate_ContentNotAnObject_Refused() =>
        Assert.Equal("content must be a JSON object, not Array",
            MeasureRequestCheck.Validate(new MeasureRequest("ContainerStarted", Json("[1]"))));

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
