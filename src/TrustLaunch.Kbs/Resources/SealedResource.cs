using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Kbs.Resources;

/// <summary>
/// A resource as stored: its bytes under AES-256-GCM with a data key of its own, the data key wrapped by the HSM key
/// (<see cref="IResourceKeyWrapper"/>). The GCM additional data is the resource path, so a row moved to another path
/// (or its data key given to another row) does not open.
/// </summary>
public sealed record SealedResource(byte[] WrappedKey, byte[] Iv, byte[] Ciphertext, byte[] Tag)
{
    private const int KeySize = 32;
    private const int IvSize = 12;
    private const int TagSize = 16;

    public static SealedResource Seal(ResourcePath path, ReadOnlySpan<byte> plaintext, IResourceKeyWrapper wrapper)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(wrapper);
        var dataKey = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            var iv = RandomNumberGenerator.GetBytes(IvSize);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[TagSize];
            using (var gcm = new AesGcm(dataKey, TagSize))
                gcm.Encrypt(iv, plaintext, ciphertext, tag, Aad(path));
            return new SealedResource(wrapper.Wrap(dataKey), iv, ciphertext, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <exception cref="CryptographicException">The data key does not unwrap, or the row was altered or moved.</exception>
    public byte[] Open(ResourcePath path, IResourceKeyWrapper wrapper)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(wrapper);
        var dataKey = wrapper.Unwrap(WrappedKey);
        try
        {
            if (dataKey.Length != KeySize || Iv.Length != IvSize || Tag.Length != TagSize)
                throw new CryptographicException($"resource {path}: the stored key, iv or tag has the wrong size");
            var plaintext = new byte[Ciphertext.Length];
            using var gcm = new AesGcm(dataKey, TagSize);
            try
            {
                gcm.Decrypt(Iv, Ciphertext, Tag, plaintext, Aad(path));
            }
            catch (AuthenticationTagMismatchException e)
            {
                throw new CryptographicException($"resource {path}: the stored ciphertext does not authenticate (altered, or moved from another path)", e);
            }
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static byte[] Aad(ResourcePath path) => Encoding.UTF8.GetBytes("trustlaunch-kbs-resource:" + path);
}
