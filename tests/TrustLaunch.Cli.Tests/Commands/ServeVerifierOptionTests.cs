namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>serve verifier --instance-id / --lease</c> and retention refusals, before anything starts.</summary>
public sealed class ServeVerifierOptionTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("2", "2", "error: --lease 2 must be longer than --quote-interval (2) and at most 86400 seconds\n")]
    [InlineData("1", "0.5", "error: --lease 0.5 must be longer than --quote-interval (1) and at most 86400 seconds\n")]
    [InlineData("2", "86401", "error: --lease 86401 must be longer than --quote-interval (2) and at most 86400 seconds\n")]
    public async Task ServeVerifier_LeaseNotLongerThanInterval_UsageError(string interval, string lease, string expected)
    {
        var result = await CliHarness.RunAsync("serve", "verifier", "--quote-interval", interval, "--lease", lease, "--tls-dir", _scratch["none"]);

        Assert.Equal((2, expected), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeVerifier_EmptyInstanceId_UsageError()
    {
        var result = await CliHarness.RunAsync("serve", "verifier", "--instance-id", "", "--tls-dir", _scratch["none"]);

        Assert.Equal((2, "error: --instance-id must be 1 to 200 printable characters\n"), (result.ExitCode, result.Stderr));
    }

    [Theory]
    [InlineData("--retire-after", "4m", "error: --retire-after 4m must be at least 5m: a retired key must outlive the tokens it signed\n")]
    [InlineData("--retire-after", "1w", "error: --retire-after '1w' is not a positive duration under 100 years (30s, 15m, 12h, 90d)\n")]
    [InlineData("--retain-results", "0d", "error: --retain-results '0d' is not a positive duration under 100 years (30s, 15m, 12h, 90d)\n")]
    [InlineData("--retain-results-per-agent", "0", "error: --retain-results-per-agent must be at least 1: an agent's newest result is always kept\n")]
    [InlineData("--webhook-max-attempts", "0", "error: --webhook-max-attempts must be 1 to 1000\n")]
    public async Task ServeVerifier_RetentionOutOfRange_UsageError(string option, string value, string expected)
    {
        var result = await CliHarness.RunAsync("serve", "verifier", option, value, "--tls-dir", _scratch["none"]);

        Assert.Equal((2, expected), (result.ExitCode, result.Stderr));
    }
}
