using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests;

/// <summary>
/// Runs <c>trustlaunch</c> as a process of its own, for what reads the process environment (<c>$REGISTRY_AUTH_FILE</c>,
/// <c>$XDG_RUNTIME_DIR</c>, <c>$HOME</c>): setting those in the test process would change every test running beside it.
/// </summary>
public static class CliProcess
{
    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        var result = await ProcessRunner.RunAsync(fileName, [.. prefix, .. args], environment, timeout: TimeSpan.FromMinutes(3));
        return new CliResult(result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
