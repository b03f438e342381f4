using System.Net;
using System.Net.Sockets;

namespace TrustLaunch.Hosting.Web;

/// <summary>Finds loopback TCP ports nobody listens on. A race with other processes stays possible, so starters retry.</summary>
public static class FreePorts
{
    /// <summary>A port P such that P and P+1 are both free (swtpm's data and control ports; tpm2-tools' swtpm TCTI
    /// assumes the control port is P+1).</summary>
    public static int FindPair()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(PickFrom, EphemeralLow.Value - 1);
            if (IsFree(port) && IsFree(port + 1))
                return port;
        }
        throw new InvalidOperationException("no free pair of loopback ports found");
    }

    private const int PickFrom = 10000;

    /// <summary>The lowest port the kernel hands out for outgoing connections and port-0 binds
    /// (<c>ip_local_port_range</c>); picking below it leaves only other pickers to race with.</summary>
    private static readonly Lazy<int> EphemeralLow = new(() =>
    {
        try
        {
            var low = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return int.TryParse(low, out var port) && port > PickFrom + 1000 ? port : 32768;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 32768;
        }
    });

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
