namespace TrustLaunch.Cli.Tests.Commands.Config;

/// <summary>
/// <c>trustlaunch config show ROLE</c> as its own process (it reads <c>TRUSTLAUNCH_ROLE_KEY</c> from the process
/// environment): every key with its source, precedence flag &gt; environment &gt; file &gt; default, secrets redacted.
/// </summary>
public sealed class ConfigShowTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private async Task<string> WriteAsync(string yaml)
    {
        var file = _scratch["registrar.yaml"];
        await File.WriteAllTextAsync(file, yaml);
        return file;
    }

    [Fact]
    public async Task ConfigShow_FlagOverEnvironmentOverFileOverDefault_EachKeyWithItsSource()
    {
        var file = await WriteAsync("listen: 127.0.0.1:1001\nmanagement-listen: 127.0.0.1:1002\ndata-dir: /srv/registrar\nek-ca:\n  - /etc/ek/root.pem\n  - /etc/ek/issuer.pem\n");
        var environment = new Dictionary<string, string>
        {
            ["TRUSTLAUNCH_REGISTRAR_LISTEN"] = "127.0.0.1:2001",
            ["TRUSTLAUNCH_REGISTRAR_MANAGEMENT_LISTEN"] = "127.0.0.1:2002",
            ["TRUSTLAUNCH_REGISTRAR_REQUIRE_EK_CERT"] = "false",
        };

        var result = await CliProcess.RunAsync(environment, "config", "show", "registrar", "--config", file, "--management-listen", "127.0.0.1:3002");

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        var lines = result.Stdout.Split('\n');
        Assert.Equal($"# serve registrar: effective configuration; settings file: {file}", lines[0]);
        Assert.Contains("management-listen: \"127.0.0.1:3002\"  # flag", lines);
        Assert.Contains("listen: \"127.0.0.1:2001\"  # env TRUSTLAUNCH_REGISTRAR_LISTEN", lines);
        Assert.Contains("require-ek-cert: false  # env TRUSTLAUNCH_REGISTRAR_REQUIRE_EK_CERT", lines);
        Assert.Contains($"data-dir: \"/srv/registrar\"  # file {file}:3", lines);
        Assert.Contains($"ek-ca:  # file {file}:4", lines);
        Assert.Contains("  - \"/etc/ek/root.pem\"", lines);
        Assert.Contains("store: \"sqlite\"  # default", lines);
        Assert.Contains("# tls-name:  # not set (default)", lines);
    }

    [Fact]
    public async Task ConfigShow_NoFile_Defaults()
    {
        var result = await CliProcess.RunAsync(new Dictionary<string, string>(), "config", "show", "verifier");

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains("quote-interval: 2  # default", result.Stdout.Split('\n'));
    }

    [Fact]
    public async Task ConfigShow_StorePasswordOnTheCommandLine_Redacted()
    {
        var result = await CliHarness.RunAsync("config", "show", "verifier", "--store", "postgres://tl:hunter2@db/trustlaunch");

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains("store: \"<redacted>\"  # flag", result.Stdout.Split('\n'));
        Assert.DoesNotContain("hunter2", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigShow_AgentWithoutItsRequiredId_ShownNotSet()
    {
        var result = await CliHarness.RunAsync("config", "show", "agent");

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains("# agent-id:  # not set (default)", result.Stdout.Split('\n'));
    }

    [Fact]
    public async Task ConfigShow_CommentsOnlyFile_DefaultsAndRequiredKeyFromFile()
    {
        var empty = _scratch["empty.yaml"];
        await File.WriteAllTextAsync(empty, "# nothing set yet\n");
        var agent = _scratch["agent.yaml"];
        await File.WriteAllTextAsync(agent, "# the node\nagent-id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\nlaunch-pcr: 14\n");

        var defaults = await CliHarness.RunAsync("config", "show", "registrar", "--config", empty);
        var fromFile = await CliHarness.RunAsync("config", "show", "agent", "--config", agent);

        Assert.Equal((0, ""), (defaults.ExitCode, defaults.Stderr));
        Assert.Contains("listen: \"127.0.0.1:8890\"  # default", defaults.Stdout.Split('\n'));
        Assert.Equal((0, ""), (fromFile.ExitCode, fromFile.Stderr));
        Assert.Contains($"agent-id: \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"  # file {agent}:2", fromFile.Stdout.Split('\n'));
        Assert.Contains($"launch-pcr: 14  # file {agent}:3", fromFile.Stdout.Split('\n'));
    }

    [Theory]
    [InlineData("TRUSTLAUNCH_REGISTRAR_REQUIRE_EK_CERT", "no", "error: TRUSTLAUNCH_REGISTRAR_REQUIRE_EK_CERT: key 'require-ek-cert' must be true or false, not 'no'\n")]
    [InlineData("TRUSTLAUNCH_REGISTRAR_STORE", "postgres://tl:hunter2@db/tl",
        "error: TRUSTLAUNCH_REGISTRAR_STORE: key 'store' carries the PostgreSQL password inline: give it by file reference (store-password-file)\n")]
    public async Task Serve_EnvironmentValueRefused_NamingTheVariableAndKey(string variable, string value, string expected)
    {
        var result = await CliProcess.RunAsync(new Dictionary<string, string> { [variable] = value }, "serve", "registrar", "--tls-dir", _scratch["none"]);

        Assert.Equal((2, expected), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task ConfigShow_UnknownKeyInFile_RefusedAsServeRefusesIt()
    {
        var file = await WriteAsync("listen: 127.0.0.1:1\nretain-results: 1d\n");

        var result = await CliHarness.RunAsync("config", "show", "registrar", "--config", file);

        Assert.Equal((2, $"error: {file}:2: unknown key 'retain-results' for serve registrar\n"), (result.ExitCode, result.Stderr));
    }
}
