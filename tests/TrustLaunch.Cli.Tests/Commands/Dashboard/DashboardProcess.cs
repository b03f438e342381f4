using System.Diagnostics;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands.Dashboard;

/// <summary><c>trustlaunch dashboard</c> as a child process, with the URL (token included) it printed.</summary>
public sealed class DashboardProcess : IAsyncDisposable
{
    private readonly Process _process;

    private DashboardProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>The printed <c>http://127.0.0.1:PORT/?token=…</c>.</summary>
    public Uri Url { get; }

    public Uri Origin => new(Url.GetLeftPart(UriPartial.Authority));

    public static async Task<DashboardProcess> StartAsync(AttestedNodeFixture node)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in prefix.Concat(["dashboard", "--listen", "127.0.0.1:0", "--verifier", node.TenantUrl, "--tls-dir", node.Deployment.TlsDirectory]))
            info.ArgumentList.Add(argument);
        var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !line.StartsWith("dashboard: ", StringComparison.Ordinal))
        {
            var error = await process.StandardError.ReadToEndAsync(timeout.Token);
            process.Kill();
            throw new InvalidOperationException($"trustlaunch dashboard printed '{line}' (stderr: {error})");
        }
        return new DashboardProcess(process, new Uri(line["dashboard: ".Length..]));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
