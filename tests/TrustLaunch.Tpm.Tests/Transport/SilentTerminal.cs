using System.Diagnostics;

namespace TrustLaunch.Tpm.Tests.Transport;

/// <summary>
/// A real character device that takes every write and never answers a read: the slave side of a pseudo-terminal
/// that <c>script</c> (util-linux, on every Debian) holds open while nobody types into it.
/// </summary>
internal sealed class SilentTerminal : IDisposable
{
    private readonly Process _script;

    private SilentTerminal(Process script, string path)
    {
        _script = script;
        Path = path;
    }

    /// <summary>The pseudo-terminal, e.g. <c>/dev/pts/3</c>.</summary>
    public string Path { get; }

    public static async Task<SilentTerminal> StartAsync()
    {
        var info = new ProcessStartInfo("script")
        {
            // stdin stays an open pipe nobody writes to, so nothing (not even an end-of-file) reaches the terminal.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-q", "-c", "tty; exec sleep 600", "/dev/null"])
            info.ArgumentList.Add(a);
        var script = Process.Start(info) ?? throw new InvalidOperationException("could not start script");
        try
        {
            var line = await script.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var path = line?.Trim() ?? "";
            if (!path.StartsWith("/dev/pts/", StringComparison.Ordinal))
                throw new InvalidOperationException($"script printed '{line}', not a terminal");
            return new SilentTerminal(script, path);
        }
        catch
        {
            script.Kill(entireProcessTree: true);
            script.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _script.Kill(entireProcessTree: true);
        _script.WaitForExit();
        _script.Dispose();
    }
}
