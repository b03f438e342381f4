namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch run --secret NAME=FILE</c> refusals that need no broker: bad arguments (usage, before the agent is
/// asked), <c>--standalone</c>, and an agent started without <c>--kbs</c> (refused before anything is measured). The
/// secrets reaching containers are tested on the broker stack (TrustLaunch.Kbs.Tests SecretRunEndToEndTests).
/// </summary>
[Trait("Category", "Slow")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunSecretTests(LaunchAgentFixture agent) : IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string SealedFile()
    {
        var file = _scratch["sealed-" + Guid.NewGuid().ToString("N")];
        File.WriteAllText(file, "sealed.e30.e30.AAAA\n");
        return file;
    }

    private string TrustedKey() => ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher").Public;

    private Task<CliResult> RunAsync(params string[] args) =>
        CliHarness.RunAsync(["run", "127.0.0.1:1/none:v1", "--trust", TrustedKey(), "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath, .. args]);

    [Fact]
    public async Task Run_SecretOnAgentWithoutKbs_RefusedWithTheReasonBeforeAnythingIsMeasured()
    {
        var before = (await agent.Deployment.GetInfoAsync()).LogLength;

        var run = await RunAsync("--secret", $"db={SealedFile()}");

        Assert.Equal((1, "error: --secret refused: this agent has no key broker: start it with serve agent --kbs https://HOST:8080\n"), (run.ExitCode, run.Stderr));
        Assert.Equal(before, (await agent.Deployment.GetInfoAsync()).LogLength);
        Assert.False(Directory.Exists(_scratch["data/containers"]) && Directory.EnumerateFileSystemEntries(_scratch["data/containers"]).Any());
    }

    [Fact]
    public async Task Run_SecretStandalone_RefusedAsUsage()
    {
        var run = await RunAsync("--standalone", "--secret", $"db={SealedFile()}");

        Assert.Equal((2, "error: --secret needs the agent (it unseals through the node's key broker): it cannot be used with --standalone\n"), (run.ExitCode, run.Stderr));
    }

    [Theory]
    [InlineData("db", "--secret 'db' is not NAME=FILE")]
    [InlineData("a/b=FILE", "--secret: secret name 'a/b' contains a path separator")]
    [InlineData("..=FILE", "--secret: secret name '..' is '.' or '..', not a file name")]
    [InlineData("=FILE", "--secret: secret name is empty")]
    [InlineData("db=/nonexistent/sealed", "--secret db: no file '/nonexistent/sealed'")]
    public async Task Run_BadSecretArgument_RefusedAsUsage(string secret, string reason)
    {
        var run = await RunAsync("--secret", secret.Replace("FILE", SealedFile(), StringComparison.Ordinal));

        Assert.Equal((2, $"error: {reason}\n"), (run.ExitCode, run.Stderr));
    }

    [Fact]
    public async Task Run_SecretNameGivenTwice_RefusedAsUsage()
    {
        var run = await RunAsync("--secret", $"db={SealedFile()}", "--secret", $"db={SealedFile()}");

        Assert.Equal((2, "error: --secret: secret 'db' is given twice\n"), (run.ExitCode, run.Stderr));
    }
}
