using System.Text.Json;

namespace TrustLaunch.Cli.Tests;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public CliResult EnsureSuccess() => ExitCode == 0
        ? this
        : throw new InvalidOperationException($"trustlaunch exited with {ExitCode}: {Stderr.Trim()}");
}

/// <summary>Runs <c>trustlaunch</c> in-process, capturing what it prints.</summary>
public static class CliHarness
{
    public static Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    /// <summary>Runs with <paramref name="stdin"/> as standard input (e.g. for <c>--password-stdin</c>).</summary>
    public static async Task<CliResult> RunWithInputAsync(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, input, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>
/// A scratch directory for files a test writes, deleted afterwards — after detaching container root filesystems a
/// failed launch test may have left mounted in it, so the test's own failure is the one reported.
/// </summary>
public sealed class ScratchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("trustlaunch-cli-").FullName;

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        var prefix = Path + "/";
        foreach (var mount in File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(prefix, StringComparison.Ordinal)).Reverse())
            TrustLaunch.Agent.Launcher.OverlayRootfs.Unmount(mount);
        Directory.Delete(Path, recursive: true);
    }
}
