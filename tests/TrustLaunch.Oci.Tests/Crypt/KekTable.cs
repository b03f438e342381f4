using System.Security.Cryptography;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Oci.Tests.Crypt;

/// <summary>The broker's side of <see cref="IKeyEncryptionKeySource"/> for unit tests: a fixed table of keys, and the kids asked.</summary>
internal sealed class KekTable(Dictionary<string, byte[]> keys) : IKeyEncryptionKeySource
{
    public List<string> Asked { get; } = [];

    public Task<byte[]> GetKeyEncryptionKeyAsync(string kid, CancellationToken cancellationToken)
    {
        Asked.Add(kid);
        return keys.TryGetValue(kid, out var kek)
            ? Task.FromResult(kek.ToArray())
            : throw new CryptographicException($"no key-encryption key {kid}");
    }
}
