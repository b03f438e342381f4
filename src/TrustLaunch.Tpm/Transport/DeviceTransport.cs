using System.Buffers.Binary;

namespace TrustLaunch.Tpm.Transport;

/// <summary>
/// A Linux TPM character device: <c>/dev/tpmrm0</c> (kernel resource manager, preferred) or <c>/dev/tpm0</c>.
/// The kernel takes one whole command per write and hands back one whole response per read. A command that gets no
/// answer within the timeout fails with a <see cref="TpmTransportException"/> naming it, so the caller's TPM lock is
/// released; the device is then reopened for the next command.
/// </summary>
public sealed class DeviceTransport(string path, TimeSpan? commandTimeout = null) : ITpmTransport
{
    private readonly TimeSpan _timeout = commandTimeout ?? TpmTransports.DefaultCommandTimeout;
    private FileStream? _device;

    public string Path { get; } = path;
    public string Description => $"device:{Path}";

    public async Task<byte[]> TransmitAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        Task<byte[]>? exchange = null;
        try
        {
            _device ??= new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            // A character device's read blocks in the kernel and cannot be cancelled, so the exchange is awaited with a
            // deadline instead; one that misses it is abandoned with its file descriptor.
            exchange = ExchangeAsync(_device, command);
            return await exchange.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Abandon(exchange);
            throw new TpmTransportException($"TPM at {Description} did not answer {CommandName(command.Span)} within {_timeout.TotalSeconds:0.###} s");
        }
        catch (OperationCanceledException)
        {
            Abandon(exchange);
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not TpmTransportException)
        {
            Close();
            throw new TpmTransportException($"TPM at {Description} failed: {e.Message}", e);
        }
    }

    private async Task<byte[]> ExchangeAsync(FileStream device, ReadOnlyMemory<byte> command)
    {
        await device.WriteAsync(command).ConfigureAwait(false);
        var buffer = new byte[ResponseFraming.MaxResponseSize];
        var read = await device.ReadAsync(buffer).ConfigureAwait(false);
        if (read < ResponseFraming.HeaderSize)
            throw new TpmTransportException($"{Description} returned a {read}-byte response");
        var size = ResponseFraming.TotalSize(buffer, Description);
        if (size != read)
            throw new TpmTransportException($"{Description} returned {read} bytes for a {size}-byte response");
        return buffer[..read];
    }

    /// <summary>Drops the device of an exchange still in flight: its late answer must not reach the next command.</summary>
    private void Abandon(Task<byte[]>? exchange)
    {
        Close();
        exchange?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static string CommandName(ReadOnlySpan<byte> command) =>
        command.Length >= 10 ? $"TPM2_{(TpmCc)BinaryPrimitives.ReadUInt32BigEndian(command[6..10])}" : "a command";

    private void Close()
    {
        _device?.Dispose();
        _device = null;
    }

    public void Dispose() => Close();
}
