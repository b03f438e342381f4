namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>Registry settings files named on the command line are read strictly: missing or malformed is a usage error, before any request.</summary>
public sealed class ImageRegistrySettingsTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Pull_MalformedRegistriesConf_UsageError()
    {
        var conf = _scratch["registries.conf"];
        File.WriteAllText(conf, "[[registry]]\nlocation = \"a.example\"\nmirrors = []\n");
        var result = await CliHarness.RunAsync("image", "pull", "a.example/x:1", "--registries-conf", conf, "--data-dir", _scratch["data"]);
        Assert.Equal((2, $"error: registries.conf {conf}: unknown key 'mirrors' in [[registry]]\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Pull_MissingAuthFile_UsageError()
    {
        var missing = _scratch["absent.json"];
        var result = await CliHarness.RunAsync("image", "pull", "a.example/x:1", "--authfile", missing, "--data-dir", _scratch["data"]);
        Assert.Equal((2, $"error: auth file {missing} does not exist\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Pull_BlockedRegistry_Refused()
    {
        var conf = _scratch["blocked.conf"];
        File.WriteAllText(conf, "[[registry]]\nprefix = \"blocked.example\"\nblocked = true\n");
        var result = await CliHarness.RunAsync("image", "pull", "blocked.example/x:1", "--registries-conf", conf, "--data-dir", _scratch["data"]);
        Assert.Equal((1, $"error: registry blocked.example/x is blocked by {conf} ([[registry]] prefix \"blocked.example\")\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Run_MalformedSignaturePolicy_UsageError()
    {
        var policy = _scratch["policy.json"];
        File.WriteAllText(policy, """{"default":[{"type":"signedByX509"}]}""");
        // The policy is read before anything is measured: a socket path that exists is enough to get there.
        File.WriteAllText(_scratch["agent.sock"], "");
        var (_, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        var result = await CliHarness.RunAsync("run", "a.example/x:1", "--signature-policy", policy, "--trust", trusted, "--data-dir", _scratch["data"],
            "--agent-socket", _scratch["agent.sock"]);
        Assert.Equal((2, $"error: signature policy {policy}: default[0]: unknown requirement type 'signedByX509'\n"), (result.ExitCode, result.Stderr));
    }
}
