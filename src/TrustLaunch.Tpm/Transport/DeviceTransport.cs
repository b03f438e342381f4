namespace TrustLaunch.Tpm.Transport;

/// <summary>
/// A Linux TPM character device: <c>/dev/tpmrm0</c> (kernel resource manager, preferred) or <c>/dev/tpm0</c>.
/// The kernel takes one whole command per write and hands back one whole response per read.
/// </summary>
public sealed class DeviceTransport(string path) : ITpmTransport
{
    private FileStream? _device;

    public string Path { get; } = path;
    public string Description => $"device:{Path}";

    public async Task<byte[]> TransmitAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        try
        {
            _device ??= new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            await _device.WriteAsync(command, cancellationToken).ConfigureAwait(false);
            var buffer = new byte[ResponseFraming.MaxResponseSize];
            var read = await _device.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read < ResponseFraming.HeaderSize)
                throw new TpmTransportException($"{Description} returned a {read}-byte response");
            var size = ResponseFraming.TotalSize(buffer, Description);
            if (size != read)
                throw new TpmTransportException($"{Description} returned {read} bytes for a {size}-byte response");
            return buffer[..read];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not TpmTransportException)
        {
            Close();
            throw new TpmTransportException($"TPM at {Description} failed: {e.Message}", e);
        }
    }

    private void Close()
    {
        _device?.Dispose();
        _device = null;
    }

    public void Dispose() => Close();
}
