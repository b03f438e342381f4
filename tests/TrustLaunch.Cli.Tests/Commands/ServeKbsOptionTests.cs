namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>serve kbs</c> refusals, before anything starts.</summary>
public sealed class ServeKbsOptionTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    private const string WrapKey = "pkcs11:token=kbs;object=wrap";

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("0")]
    [InlineData("86401")]
    public async Task ServeKbs_SessionTimeoutOutOfRange_UsageError(string seconds)
    {
        var result = await CliHarness.RunAsync("serve", "kbs", "--wrap-key", WrapKey, "--signing-key", _scratch["key.pem"], "--session-timeout", seconds, "--tls-dir", _scratch["none"]);

        Assert.Equal((2, $"error: --session-timeout {seconds} must be 1 to 86400 seconds\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeKbs_SigningKeyFileMissing_UsageError()
    {
        var result = await CliHarness.RunAsync("serve", "kbs", "--wrap-key", WrapKey, "--signing-key", _scratch["missing.pem"], "--tls-dir", _scratch["none"]);

        Assert.Equal((2, $"error: --signing-key {_scratch["missing.pem"]}: no such file\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeKbs_RegistrarNotHttps_UsageError()
    {
        var result = await CliHarness.RunAsync("serve", "kbs", "--wrap-key", WrapKey, "--signing-key", _scratch["key.pem"], "--registrar", "http://127.0.0.1:8891", "--tls-dir", _scratch["none"]);

        Assert.Equal((2, "error: --registrar 'http://127.0.0.1:8891' is not an https:// URL\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeKbs_WrapKeyNotPkcs11_UsageError()
    {
        var result = await CliHarness.RunAsync("serve", "kbs", "--wrap-key", _scratch["wrap.key"], "--signing-key", _scratch["key.pem"], "--tls-dir", _scratch["none"]);

        Assert.Equal((2, "error: --wrap-key must be a pkcs11: URI: resources are wrapped by a key in an HSM\n"), (result.ExitCode, result.Stderr));
    }
}
