using System.Diagnostics;
using System.Net.Sockets;

namespace TrustLaunch.Testing;

/// <summary>Starts a server process for a fixture and waits until it accepts connections on its port (of loopback, or of <c>host</c>).</summary>
public static class LoopbackServer
{
    /// <summary>The started process once <paramref name="port"/> accepts a connection; null when the process exited
    /// first (e.g. the port was taken) or did not listen within <paramref name="timeout"/> (then it is killed).</summary>
    public static async Task<Process?> StartAsync(ProcessStartInfo info, int port, TimeSpan? timeout = null, string host = "127.0.0.1")
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                process.Dispose();
                return null;
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(host, port);
                return process;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }
        process.Kill();
        process.Dispose();
        return null;
    }

    /// <summary>Kills a fixture's server with SIGKILL, as a crash would, and waits for it; its state stays on disk.</summary>
    public static async Task KillAsync(Process? process)
    {
        if (process is null)
            return;
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
    }
}
