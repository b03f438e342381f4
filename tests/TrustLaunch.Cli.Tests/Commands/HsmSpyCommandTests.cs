using System.Text.Json;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>--spy</c> needs its own process (a module is initialised once per process, and this test process has
/// SoftHSM loaded directly), so these run <c>dotnet trustlaunch.dll</c>; <c>analyze</c> runs in-process.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HsmSpyCommandTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>, IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<ProcessResult> CliProcessAsync(params string[] args)
    {
        var env = new Dictionary<string, string>(hsm.Environment) { ["TRUSTLAUNCH_HSM_PIN"] = SoftHsmFixture.UserPinText };
        return ProcessRunner.RunAsync("dotnet", [typeof(CliApp).Assembly.Location, .. args], env);
    }

    [Fact]
    public async Task Spy_KeygenAndSign_LoggedThenAnalyzedWithoutPin()
    {
        var log = _dir["spy.log"];
        (await CliProcessAsync("hsm", "--spy", log, "--token", hsm.TokenLabel, "keygen", "--type", "rsa:2048", "--label", "spied")).EnsureSuccess("keygen");
        await File.WriteAllTextAsync(_dir["d"], "x");
        (await CliProcessAsync("hsm", "--spy", log, "--token", hsm.TokenLabel, "sign", "--key", "spied", "--alg", "PS256", "--in", _dir["d"], "--out", _dir["s"])).EnsureSuccess("sign");
        var text = await File.ReadAllTextAsync(log);
        Assert.Contains(SoftHsmFixture.UserPinText, text);

        var json = (await CliHarness.RunAsync("hsm", "analyze", "--log", log, "--json")).EnsureSuccess();
        var root = json.Json;
        Assert.Equal(System.Text.RegularExpressions.Regex.Count(text, @"(?m)^\d+: C_\w+$"), root.GetProperty("total_calls").GetInt64());
        Assert.Equal(2, root.GetProperty("processes").GetArrayLength());
        Assert.Equal(1, root.GetProperty("calls").GetProperty("C_GenerateKeyPair").GetInt64());
        // Pkcs11Interop calls C_Sign twice: once for the length, once to sign.
        Assert.Equal(System.Text.RegularExpressions.Regex.Count(text, @"(?m)^\d+: C_Sign$"), root.GetProperty("calls").GetProperty("C_Sign").GetInt64());
        Assert.Equal(2, root.GetProperty("calls").GetProperty("C_Sign").GetInt64());
        Assert.True(root.GetProperty("returns").GetProperty("CKR_OK").GetInt64() > 10);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("errors").ValueKind);
        Assert.DoesNotContain(SoftHsmFixture.UserPinText, json.Stdout);

        var events = (await CliHarness.RunAsync("hsm", "analyze", "--log", log, "--format", "events")).EnsureSuccess();
        Assert.DoesNotContain(SoftHsmFixture.UserPinText, events.Stdout);
        var lines = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(root.GetProperty("total_calls").GetInt64(), lines.Length);
        Assert.Contains(lines, l => l.Contains("REDACTED", StringComparison.Ordinal));

        var summary = (await CliHarness.RunAsync("hsm", "analyze", "--log", log)).EnsureSuccess();
        Assert.StartsWith($"total calls: {root.GetProperty("total_calls").GetInt64()}   processes: 2", summary.Stdout);
    }

    [Fact]
    public async Task Spy_UnderUmask000_LogCreated0600BeforeTheModuleWrites()
    {
        var log = _dir["umask.log"];
        var env = new Dictionary<string, string>(hsm.Environment) { ["TRUSTLAUNCH_HSM_PIN"] = SoftHsmFixture.UserPinText };
        var cli = $"umask 000 && exec dotnet '{typeof(CliApp).Assembly.Location}' hsm --spy '{log}' --token '{hsm.TokenLabel}' keys";

        (await ProcessRunner.RunAsync("sh", ["-c", cli], env)).EnsureSuccess("keys via spy");

        Assert.Contains(SoftHsmFixture.UserPinText, await File.ReadAllTextAsync(log));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(log));
    }

    [Fact]
    public async Task Spy_ExistingWorldReadableLog_TightenedTo0600()
    {
        var log = _dir["existing.log"];
        await File.WriteAllTextAsync(log, "");
        File.SetUnixFileMode(log, (UnixFileMode)0x1B6); // 0666

        (await CliProcessAsync("hsm", "--spy", log, "--token", hsm.TokenLabel, "keys")).EnsureSuccess("keys via spy");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(log));
        Assert.Contains("C_Login", await File.ReadAllTextAsync(log));
    }

    [Fact]
    public async Task Spy_EnvironmentVariableAlone_DoesNotEnableTheSpy()
    {
        var log = _dir["env.log"];
        var env = new Dictionary<string, string>(hsm.Environment) { ["TRUSTLAUNCH_HSM_SPY"] = log, ["TRUSTLAUNCH_HSM_PIN"] = SoftHsmFixture.UserPinText };

        var info = (await ProcessRunner.RunAsync("dotnet", [typeof(CliApp).Assembly.Location, "hsm", "--token", hsm.TokenLabel, "info", "--json"], env))
            .EnsureSuccess("info");

        Assert.False(File.Exists(log));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(info.StandardOutput).RootElement.GetProperty("spy").ValueKind);
    }

    [Fact]
    public async Task Benchmark_SmallRun_ReportsBothPathsAndAnalyzeThroughput()
    {
        var pin = _dir["pin"];
        await File.WriteAllTextAsync(pin, SoftHsmFixture.UserPinText);
        var r = (await CliHarness.RunAsync("hsm", "--token", hsm.TokenLabel, "--pin-file", pin, "benchmark", "--iterations", "20", "--analyze-mb", "4", "--json")).EnsureSuccess();
        var rows = r.Json.GetProperty("sign").EnumerateArray().ToList();
        Assert.Equal(["RS256 sign (rsa:2048)", "ES256 sign (ec:p256)"], rows.Select(x => x.GetProperty("operation").GetString()));
        Assert.All(rows, x => Assert.True(x.GetProperty("ops_per_second").GetDouble() > 0 && x.GetProperty("bare_ops_per_second").GetDouble() > 0));
        Assert.True(r.Json.GetProperty("analyze_megabytes_per_second").GetDouble() > 0);
    }
}
