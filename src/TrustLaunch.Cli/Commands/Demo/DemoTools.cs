using System.Diagnostics;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>One-shot tools the demo runs (swtpm_setup, and trustlaunch itself for the story's commands).</summary>
internal static class DemoTools
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    /// <summary>The tools the demo needs on PATH, and the Debian package of each.</summary>
    public static readonly IReadOnlyList<(string Tool, string Package)> Required =
    [
        ("swtpm", "swtpm"), ("swtpm_setup", "swtpm-tools"), ("docker-registry", "docker-registry"), ("setsid", "util-linux"),
        ("softhsm2-util", "softhsm2"),
    ];

    public static bool OnPath(string tool) =>
        tool.Contains('/') ? File.Exists(tool)
        : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, tool)));

    /// <summary>Runs a command to its end; its output, or a failure with its stderr.</summary>
    public static async Task<ProcessOutcome> RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new CliFailureException($"cannot start {start.FileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new CliFailureException($"{start.FileName} did not finish within {Timeout.TotalMinutes:0} minutes");
        }
        return new ProcessOutcome(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Runs a tool that must succeed.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(file);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        var outcome = await RunAsync(start, cancellationToken).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
            throw new CliFailureException($"{file} failed with exit code {outcome.ExitCode}: {CliApp.OneLine(outcome.Stderr.Trim())}");
        return outcome.Stdout;
    }
}

internal sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr);
