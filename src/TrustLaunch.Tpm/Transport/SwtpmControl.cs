using System.Buffers.Binary;
using System.Net.Sockets;

namespace TrustLaunch.Tpm.Transport;

/// <summary>
/// swtpm's control channel (its own protocol, not the MS simulator's platform port): u32 command, payload; answer
/// u32 result. Used to power-cycle a test TPM. Each call uses a fresh connection, as swtpm serves one request per
/// connection state change.
/// </summary>
public sealed class SwtpmControl(string host, int port)
{
    private const uint CmdInit = 2;
    private const uint CmdShutdown = 3;

    /// <summary>PTM_INIT: a power cycle. The TPM then needs TPM2_Startup; resetCount goes up after Startup(CLEAR).</summary>
    public Task InitAsync(CancellationToken cancellationToken = default) =>
        SendAsync(CmdInit, [0, 0, 0, 0], cancellationToken);

    /// <summary>PTM_SHUTDOWN: swtpm saves its state and exits.</summary>
    public Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        SendAsync(CmdShutdown, [], cancellationToken);

    private async Task SendAsync(uint command, byte[] payload, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(request, command);
        payload.CopyTo(request, 4);
        await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        var answer = new byte[4];
        await stream.ReadExactlyAsync(answer, cancellationToken).ConfigureAwait(false);
        var result = BinaryPrimitives.ReadUInt32BigEndian(answer);
        if (result != 0)
            throw new TpmTransportException($"swtpm control command {command} at {host}:{port} failed with 0x{result:X8}");
    }
}
