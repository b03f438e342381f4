using System.Security.Cryptography;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Agent.Kbs;

/// <summary>
/// The key-encryption keys of one image pull, through <see cref="NodeKeyBroker.FetchAsync(string, CancellationToken)"/> (only an Attested node
/// gets them, each measured <c>KeyReleased</c>): each kid is fetched at most once, and what is held is zeroed when
/// disposed. A broker refusal is a <see cref="CryptographicException"/> with the broker's reason, as the key provider
/// path of <see cref="Ocicrypt"/> expects.
/// </summary>
public sealed class BrokerKeyEncryptionKeys(NodeKeyBroker broker) : IKeyEncryptionKeySource, IDisposable
{
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    public async Task<byte[]> GetKeyEncryptionKeyAsync(string kid, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_keys.TryGetValue(kid, out var kek))
            {
                try
                {
                    kek = await broker.FetchAsync(kid, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KbsRefusedException or ResourceUriRefusedException or KbsProtocolException)
                {
                    throw new CryptographicException(e.Message, e);
                }
                _keys[kid] = kek;
            }
            return (byte[])kek.Clone();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Wait();
        try
        {
            _disposed = true;
            foreach (var kek in _keys.Values)
                CryptographicOperations.ZeroMemory(kek);
            _keys.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
