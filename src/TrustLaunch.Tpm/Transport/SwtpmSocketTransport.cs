using System.Net.Sockets;

namespace TrustLaunch.Tpm.Transport;

/// <summary>
/// swtpm's TCP data port in raw mode: a command in, a response out. swtpm serves one connection at a time, so each
/// command uses its own connection and other clients (tpm2-tools, another process) can take turns with this one.
/// A refused or broken connection fails that command with a <see cref="TpmTransportException"/>; the next command
/// simply connects again (e.g. after swtpm was restarted).
/// </summary>
public sealed class SwtpmSocketTransport(string host, int port, TimeSpan? commandTimeout = null) : ITpmTransport
{
    private readonly TimeSpan _timeout = commandTimeout ?? TpmTransports.DefaultCommandTimeout;

    public string Host { get; } = host;
    public int Port { get; } = port;
    public string Description => $"swtpm:host={Host},port={Port}";

    public async Task<byte[]> TransmitAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(Host, Port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync(command, timeout.Token).ConfigureAwait(false);
            var header = new byte[ResponseFraming.HeaderSize];
            await stream.ReadExactlyAsync(header, timeout.Token).ConfigureAwait(false);
            var response = new byte[ResponseFraming.TotalSize(header, Description)];
            header.CopyTo(response, 0);
            await stream.ReadExactlyAsync(response.AsMemory(ResponseFraming.HeaderSize), timeout.Token).ConfigureAwait(false);
            return response;
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (e is TpmTransportException)
                throw;
            var why = e is OperationCanceledException ? $"no response within {_timeout.TotalSeconds:0} s" : e.Message;
            throw new TpmTransportException($"TPM at {Description} is unreachable or dropped the connection: {why}", e);
        }
    }

    public void Dispose()
    {
    }
}
