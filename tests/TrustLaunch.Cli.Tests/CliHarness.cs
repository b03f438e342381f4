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
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>A scratch directory for files a test writes, deleted afterwards.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("trustlaunch-cli-").FullName;

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
