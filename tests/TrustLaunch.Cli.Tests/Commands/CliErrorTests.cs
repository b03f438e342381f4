namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>Failures that need no TPM, or an absent one: one line on stderr, the right exit code.</summary>
public sealed class CliErrorTests
{
    [Theory]
    [InlineData("abc", "error: nonce 'abc' has an odd number of hex digits\n")]
    [InlineData("zz", "error: nonce 'zz' is not hexadecimal\n")]
    public async Task Quote_BadNonceHex_ExitsTwoWithExactError(string nonce, string expected)
    {
        var result = await CliHarness.RunAsync("tpm", "quote", "--ak", "0x81010002", "--nonce", nonce, "--pcrs", "sha256:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(expected, result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Quote_NonceLongerThan64Bytes_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "quote", "--ak", "0x81010002", "--nonce", new string('a', 130), "--pcrs", "sha256:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: nonce is 65 bytes; at most 64 are allowed\n", result.Stderr);
    }

    [Fact]
    public async Task Quote_BadHandle_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "quote", "--ak", "0xnope", "--nonce", "00", "--pcrs", "sha256:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: '0xnope' is not a handle: write it in hex (0x81010002) or decimal\n", result.Stderr);
    }

    [Fact]
    public async Task Quote_BadPcrSelection_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "quote", "--ak", "1", "--nonce", "00", "--pcrs", "sha256:99", "--tpm", "swtpm:port=1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: '99' is not a PCR index (0–23)\n", result.Stderr);
    }

    [Fact]
    public async Task Info_UnreachableTpm_OneLineErrorExitsOne()
    {
        var port = FreePorts.FindPair();

        var result = await CliHarness.RunAsync("tpm", "info", "--tpm", $"swtpm:host=127.0.0.1,port={port}");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: TPM at swtpm:host=127.0.0.1,port={port} is unreachable", result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Info_UnknownTransport_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "info", "--tpm", "mssim:port=1");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: unknown TPM transport 'mssim'", result.Stderr);
    }

    [Fact]
    public async Task ActivateCredential_MissingFile_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "activate-credential", "--ak", "0x81010002", "--in", "/nonexistent/cred");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: Could not find", result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Tpm_NoSubcommand_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
    }

    [Fact]
    public async Task AkCreate_NonPersistentHandle_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("tpm", "ak", "create", "--out-public", "x.pem", "--persist", "0x80000001");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: --persist 0x80000001 is not an owner persistent handle (0x81000000-0x817fffff)\n", result.Stderr);
    }

    [Fact]
    public async Task Help_ExitsZeroAndListsTpmCommands()
    {
        var result = await CliHarness.RunAsync("tpm", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("activate-credential", result.Stdout);
    }
}
