namespace TrustLaunch.Tpm.Transport;

/// <summary>Carries one TPM command buffer to the TPM and its response back. Implementations are not thread-safe;
/// <see cref="TpmDevice"/> serialises commands.</summary>
public interface ITpmTransport : IDisposable
{
    /// <summary>What this transport talks to, in the form <see cref="TpmTransports.Open"/> accepts.</summary>
    string Description { get; }

    Task<byte[]> TransmitAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken);
}
