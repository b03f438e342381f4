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
            var port = Random.Shared.Next(20000, 60000);
            if (IsFree(port) && IsFree(port + 1))
                return port;
        }
        throw new InvalidOperationException("no free pair of loopback ports found");
    }

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
