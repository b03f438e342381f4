using System.Net;
using System.Net.Sockets;
using TrustLaunch.Agent.Gateway;

namespace TrustLaunch.Agent.Tests.Gateway;

/// <summary>The gateway's TCP listener is made only inside another network namespace: never where the host could reach it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NetworkNamespaceSocketTests
{
    [Fact]
    public void Listen_InTheAgentsOwnNamespace_Refused()
    {
        var e = Assert.Throws<IOException>(() => NetworkNamespaceSocket.Listen(Environment.ProcessId, new IPEndPoint(IPAddress.Loopback, 0)));

        Assert.Equal($"process {Environment.ProcessId} shares the agent's network namespace: no gateway listens there", e.Message);
    }

    [Fact]
    public async Task Listen_InANamespaceOfItsOwn_ReachableThereOnly()
    {
        // unshare -n gives the sleeper a network namespace of its own (loopback up with ip link, as crun does).
        using var sleeper = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("unshare", ["-n", "sh", "-c", "ip link set lo up && exec sleep 30"]))!;
        try
        {
            await Testing.Eventually.WaitAsync(() => Task.FromResult<string?>(
                File.Exists($"/proc/{sleeper.Id}/ns/net") && new FileInfo($"/proc/{sleeper.Id}/ns/net").LinkTarget != new FileInfo("/proc/self/ns/net").LinkTarget
                    && File.ReadAllText($"/proc/{sleeper.Id}/comm").Trim() == "sleep" ? "ready" : null));

            using var listening = NetworkNamespaceSocket.Listen(sleeper.Id, new IPEndPoint(IPAddress.Loopback, 0));

            var port = ((IPEndPoint)listening.LocalEndPoint!).Port;
            using var host = new TcpClient();
            var refused = await Assert.ThrowsAsync<SocketException>(() => host.ConnectAsync(IPAddress.Loopback, port));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        finally
        {
            sleeper.Kill();
            await sleeper.WaitForExitAsync();
        }
    }
}
