using TrustLaunch.Agent.Configuration;

namespace TrustLaunch.Agent.Tests.Configuration;

public sealed class AgentOptionsTests
{
    private static AgentOptions Valid() => new()
    {
        AgentId = "d432fbb3-d2f1-4a97-9ef7-75bd81c00000",
        DataDirectory = "/var/lib/trustlaunch/agent",
        Registrar = "https://127.0.0.1:8890",
    };

    [Fact]
    public void Validate_Defaults_NoErrorsAndDerivedPaths()
    {
        var options = Valid();

        Assert.Empty(options.Validate());
        Assert.Equal("/var/lib/trustlaunch/agent/agent.sock", options.EffectiveSocketPath);
        Assert.Equal("127.0.0.1:9002", options.EffectiveAdvertisedAddress);
    }

    [Theory]
    [InlineData(16, "PCR 16 is the debug PCR, resettable at any time: launch measurements must not go there")]
    [InlineData(23, "PCR 23 is the application PCR, resettable by software: launch measurements must not go there")]
    [InlineData(24, "PCR 24 does not exist: PCRs run from 0 to 23")]
    public void Validate_UnusableLaunchPcr_Refused(int pcr, string expected)
    {
        var options = Valid();
        options.LaunchPcr = pcr;

        Assert.Equal([expected], options.Validate());
    }

    [Theory]
    [InlineData("http://verifier:8880")]
    [InlineData("verifier:8880")]
    public void Validate_PushVerifierNotHttps_Refused(string url)
    {
        var options = Valid();
        options.PushVerifier = url;

        Assert.Equal([$"push verifier '{url}' is not an https:// URL"], options.Validate());
    }

    [Theory]
    [InlineData("http://kbs:8080")]
    [InlineData("kbs:8080")]
    [InlineData("https://kbs:8080/kbs/v0")]
    public void Validate_KbsNotAnHttpsOrigin_Refused(string url)
    {
        var options = Valid();
        options.Kbs = url;

        Assert.Equal([$"key broker '{url}' is not an https://HOST:PORT URL"], options.Validate());
    }

    [Fact]
    public void Validate_EverythingWrong_ListsEveryProblem()
    {
        var options = new AgentOptions { AgentId = "node-1", Registrar = "http://r:8890", Listen = "somewhere", AkHandle = 0x8000_0001 };

        Assert.Equal(
        [
            "agent id 'node-1' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
            "a data directory is required",
            "AK handle 0x80000001 is not an owner persistent handle (0x81000000-0x817fffff)",
            "registrar 'http://r:8890' is not an https:// URL",
            "listen address 'somewhere' is not IP:PORT",
        ], options.Validate());
    }
}
