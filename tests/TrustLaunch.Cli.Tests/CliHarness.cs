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

/// <summary>A scratch directory for files a test writes, deleted afterwards.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("trustlaunch-cli-").FullName;

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
