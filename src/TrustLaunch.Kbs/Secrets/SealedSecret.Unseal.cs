using System.Security.Cryptography;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Secrets;

public sealed partial class SealedSecret
{
    private const int KeySize = 32, IvSize = 12, TagSize = 16;

    /// <summary>The resource URI the value (vault) or the KEK (envelope) is fetched from.</summary>
    public string ResourceUri => Payload switch
    {
        VaultSecret v => v.Name,
        EnvelopeSecret e => e.KeyId,
        _ => throw new InvalidOperationException("unknown sealed secret payload"),
    };

    /// <summary>Opens the secret: one fetch of <see cref="ResourceUri"/> through <paramref name="fetch"/> (the node's
    /// broker), which is the value for a vault secret and the KEK for an envelope. The caller owns (and wipes) the
    /// value returned.</summary>
    /// <exception cref="SealedSecretException">The KEK is not 32 bytes, the data key does not unwrap, or the data
    /// does not decrypt. Exceptions of <paramref name="fetch"/> pass through unchanged.</exception>
    public async Task<byte[]> UnsealAsync(Func<string, CancellationToken, Task<byte[]>> fetch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        var resource = await fetch(ResourceUri, cancellationToken).ConfigureAwait(false);
        if (Payload is not EnvelopeSecret envelope)
            return resource;
        try
        {
            return Decrypt(envelope, resource);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(resource);
        }
    }

    private static byte[] Decrypt(EnvelopeSecret envelope, byte[] kek)
    {
        if (kek.Length != KeySize)
            throw new SealedSecretException($"sealed secret KEK '{envelope.KeyId}' is {kek.Length} bytes, expected {KeySize}");
        byte[] dataKey;
        try
        {
            dataKey = AesKeyWrap.Unwrap(kek, envelope.EncryptedKey);
        }
        catch (CryptographicException)
        {
            throw new SealedSecretException($"sealed secret's data key does not unwrap under KEK '{envelope.KeyId}'");
        }
        try
        {
            if (dataKey.Length != KeySize)
                throw new SealedSecretException($"sealed secret's data key is {dataKey.Length} bytes, expected {KeySize}");
            if (envelope.Iv.Length != IvSize)
                throw new SealedSecretException($"sealed secret's iv is {envelope.Iv.Length} bytes, expected {IvSize}");
            if (envelope.EncryptedData.Length < TagSize)
                throw new SealedSecretException($"sealed secret's encrypted_data is {envelope.EncryptedData.Length} bytes, shorter than its {TagSize}-byte tag");
            var cipherLength = envelope.EncryptedData.Length - TagSize;
            var value = new byte[cipherLength];
            using var gcm = new AesGcm(dataKey, TagSize);
            try
            {
                gcm.Decrypt(envelope.Iv, envelope.EncryptedData.AsSpan(0, cipherLength), envelope.EncryptedData.AsSpan(cipherLength), value);
            }
            catch (AuthenticationTagMismatchException)
            {
                CryptographicOperations.ZeroMemory(value);
                throw new SealedSecretException("sealed secret's encrypted_data does not decrypt: AES-256-GCM tag mismatch");
            }
            return value;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }
}
