namespace TrustLaunch.Kbs.Resources;

/// <summary>Wraps and unwraps the per-resource data keys with a key that never leaves its HSM.</summary>
public interface IResourceKeyWrapper
{
    /// <summary>The wrapping key as a PKCS#11 URI without PIN, for messages.</summary>
    string KeyName { get; }

    byte[] Wrap(ReadOnlySpan<byte> dataKey);

    /// <exception cref="System.Security.Cryptography.CryptographicException">Not wrapped by this key, or altered.</exception>
    byte[] Unwrap(ReadOnlySpan<byte> wrapped);
}
