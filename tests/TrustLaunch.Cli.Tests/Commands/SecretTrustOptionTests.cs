namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>serve agent --secret-trust</c> refusals, before anything starts.</summary>
public sealed class SecretTrustOptionTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static Task<CliResult> ServeAgentAsync(params string[] arguments) =>
        CliHarness.RunAsync(["serve", "agent", "--agent-id", Guid.NewGuid().ToString(), "--tpm", "swtpm:port=1", .. arguments]);

    [Fact]
    public async Task ServeAgent_SecretTrustWithoutKbs_UsageError()
    {
        Directory.CreateDirectory(_scratch["trust"]);

        var result = await ServeAgentAsync("--secret-trust", _scratch["trust"], "--data-dir", _scratch["data"]);

        Assert.Equal((2, "error: --secret-trust needs --kbs: sealed secrets open only through the key broker\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeAgent_SecretTrustMissing_UsageError()
    {
        var result = await ServeAgentAsync("--secret-trust", _scratch["missing"], "--kbs", "https://127.0.0.1:1", "--data-dir", _scratch["data"]);

        Assert.Equal((2, $"error: --secret-trust sealed secret signers directory '{_scratch["missing"]}' does not exist\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeAgent_SecretTrustEmpty_UsageError()
    {
        Directory.CreateDirectory(_scratch["trust"]);

        var result = await ServeAgentAsync("--secret-trust", _scratch["trust"], "--kbs", "https://127.0.0.1:1", "--data-dir", _scratch["data"]);

        Assert.Equal((2, $"error: --secret-trust sealed secret signers directory '{_scratch["trust"]}' holds no KID.pem file\n"), (result.ExitCode, result.Stderr));
    }
}
