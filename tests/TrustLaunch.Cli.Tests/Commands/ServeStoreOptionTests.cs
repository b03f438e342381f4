namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>serve registrar|verifier --store …</c> refusals: before anything starts, and never showing the password.</summary>
public sealed class ServeStoreOptionTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("registrar")]
    [InlineData("verifier")]
    public async Task Serve_StoreNotPostgresOrSqlite_UsageErrorWithoutThePassword(string role)
    {
        var result = await CliHarness.RunAsync("serve", role, "--store", "mysql://tl:secret@db/trustlaunch", "--tls-dir", _scratch["none"]);

        Assert.Equal((2, "error: --store: neither 'sqlite' nor a PostgreSQL URL (postgres://user@host:port/database) or key=value string\n"),
            (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Serve_PasswordInUrlAndFile_UsageError()
    {
        var file = _scratch["password"];
        await File.WriteAllTextAsync(file, "other\n");

        var result = await CliHarness.RunAsync("serve", "registrar", "--store", "postgres://tl:secret@db/trustlaunch", "--store-password-file", file);

        Assert.Equal((2, "error: --store: the password is given twice, in the URL and in the password file: give it once\n"),
            (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ServeRegistrar_PostgresUnreachable_FailureNamingTheStoreWithoutThePassword()
    {
        (await CliHarness.RunAsync("ca", "init", "--dir", _scratch["tls"], "--key-dir", _scratch["ca"])).EnsureSuccess();
        (await CliHarness.RunAsync("ca", "issue", "registrar", "registrar", "--dir", _scratch["tls"], "--key-dir", _scratch["ca"])).EnsureSuccess();
        var port = FreePorts.FindPair();

        var result = await CliHarness.RunAsync("serve", "registrar", "--store", $"postgres://tl:secret@127.0.0.1:{port}/trustlaunch",
            "--tls-dir", _scratch["tls"], "--require-ek-cert", "false", "--data-dir", _scratch["data"]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: cannot connect to the PostgreSQL store postgres://tl@127.0.0.1:{port}/trustlaunch: Failed to connect to 127.0.0.1:{port}", result.Stderr);
        Assert.DoesNotContain("secret", result.Stderr, StringComparison.Ordinal);
    }
}
