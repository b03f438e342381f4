using System.Security.Cryptography;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Agent.Kbs;

/// <summary>
/// The key-encryption keys of one image pull, fetched through <see cref="NodeKeyBroker"/> (so only an Attested node
/// gets them, each release measured as <c>KeyReleased</c>): each kid is asked of the broker at most once however many
/// layers and checks name it, and a refusal is remembered as well, so it is not asked again either. Dispose at the end
/// of the pull: the keys it holds are wiped.
/// </summary>
public sealed class BrokerKeyEncryptionKeys : IKeyEncryptionKeySource, IDisposable
{
    private readonly Func<string, CancellationToken, Task<byte[]>> _fetch;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refusals = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    public BrokerKeyEncryptionKeys(NodeKeyBroker broker)
        : this((broker ?? throw new ArgumentNullException(nameof(broker))).FetchAsync)
    {
    }

    internal BrokerKeyEncryptionKeys(Func<string, CancellationToken, Task<byte[]>> fetch) => _fetch = fetch;

    /// <returns>A copy of the key; the caller wipes it.</returns>
    /// <exception cref="CryptographicException">The broker refused the kid, or its answer was refused; the message says why.</exception>
    public async Task<byte[]> GetKeyEncryptionKeyAsync(string kid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kid);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_refusals.TryGetValue(kid, out var refusal))
                throw new CryptographicException(refusal);
            if (!_keys.TryGetValue(kid, out var kek))
            {
                try
                {
                    kek = await _fetch(kid, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KbsRefusedException or KbsProtocolException or ResourceUriRefusedException)
                {
                    _refusals[kid] = e.Message;
                    throw new CryptographicException(e.Message, e);
                }
                _keys[kid] = kek;
            }
            return kek.ToArray();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _gate.Wait();
        try
        {
            foreach (var kek in _keys.Values)
                CryptographicOperations.ZeroMemory(kek);
            _keys.Clear();
            _disposed = true;
        }
        finally
        {
            _gate.Release();
        }
        _gate.Dispose();
    }
}
