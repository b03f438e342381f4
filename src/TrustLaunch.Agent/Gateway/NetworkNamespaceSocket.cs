using System.Net;
using System.Net.Sockets;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// A TCP socket listening in another process's network namespace: a dedicated thread enters it (setns on
/// <c>/proc/PID/ns/net</c>), creates, binds and listens, and goes back before it ends; the socket stays in the
/// namespace it was created in, so it is reachable from there only. A process sharing the agent's own namespace is
/// refused: a listener there would be reachable from the host.
/// </summary>
public static class NetworkNamespaceSocket
{
    /// <exception cref="IOException">The namespace cannot be entered, is the agent's own, or the address is taken.</exception>
    public static Socket Listen(int pid, IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var target = $"/proc/{pid}/ns/net";
        if (NamespaceOf(target) == NamespaceOf("/proc/self/ns/net"))
            throw new IOException($"process {pid} shares the agent's network namespace: no gateway listens there");
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                socket = ListenInside(target, endpoint);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "gateway-setns" };
        thread.Start();
        thread.Join();
        return socket ?? throw (failure as IOException ?? new IOException($"listening on {endpoint} in the network namespace of process {pid}: {failure?.Message}", failure));
    }

    private static Socket ListenInside(string target, IPEndPoint endpoint)
    {
        var own = Libc.Open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (own < 0)
            throw new IOException($"open /proc/thread-self/ns/net: {Libc.ErrorText(Libc.LastError)}");
        try
        {
            var fd = Libc.Open(target, Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0)
                throw new IOException($"open {target}: {Libc.ErrorText(Libc.LastError)}");
            try
            {
                if (Libc.Setns(fd, Libc.CLONE_NEWNET) != 0)
                    throw new IOException($"setns {target}: {Libc.ErrorText(Libc.LastError)}");
            }
            finally
            {
                Libc.Close(fd);
            }
            try
            {
                var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(endpoint);
                    socket.Listen(64);
                    return socket;
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw new IOException($"listening on {endpoint} in {target}: {e.Message}", e);
                }
            }
            finally
            {
                // The thread ends right after, so a failed return strands nothing but this thread.
                Libc.Setns(own, Libc.CLONE_NEWNET);
            }
        }
        finally
        {
            Libc.Close(own);
        }
    }

    /// <summary>The namespace a <c>/proc/…/ns/net</c> link names, e.g. <c>net:[4026531840]</c>.</summary>
    private static string NamespaceOf(string link) =>
        new FileInfo(link).LinkTarget ?? throw new IOException($"{link} names no namespace");
}
