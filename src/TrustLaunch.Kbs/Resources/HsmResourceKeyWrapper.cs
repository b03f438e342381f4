using System.Security.Cryptography;
using TrustLaunch.Hsm;

namespace TrustLaunch.Kbs.Resources;

/// <summary>
/// <see cref="IResourceKeyWrapper"/> by an AES-256 key in a PKCS#11 token made for encryption (usage <c>encrypt</c>):
/// the data key is AES-GCM encrypted inside the HSM (<c>iv || ciphertext || tag</c>). Thread-safe: each call
/// borrows a session of its own (<see cref="HsmSessionPool"/>).
/// </summary>
public sealed class HsmResourceKeyWrapper : IResourceKeyWrapper, IDisposable
{
    private readonly HsmSessionPool _sessions;
    private readonly HsmKey _key;

    private HsmResourceKeyWrapper(HsmSession primary, HsmKey key)
    {
        _sessions = new HsmSessionPool(primary);
        _key = key;
        KeyName = new Pkcs11Uri { Token = primary.TokenLabel, Object = key.Label, Type = HsmObjectType.SecretKey }.ToString();
    }

    public string KeyName { get; }

    /// <exception cref="HsmException">No such key, or not an AES-256 key allowed to encrypt and decrypt.</exception>
    public static HsmResourceKeyWrapper Open(HsmModule module, Pkcs11Uri uri, ReadOnlySpan<byte> pin)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(uri);
        var token = uri.Token ?? throw new FormatException($"PKCS#11 URI '{uri.ToDisplayString()}' names no token: add token=LABEL");
        var session = module.OpenSession(token, pin);
        try
        {
            var key = session.FindKey(uri, HsmObjectType.SecretKey);
            if (key.Kind != HsmKeyKind.Aes || key.Bits != 256 || !key.Functions.HasFlag(HsmKeyFunctions.Encrypt | HsmKeyFunctions.Decrypt))
                throw new HsmException("C_EncryptInit", "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} cannot wrap resource keys: it needs an AES-256 key of usage encrypt");
            return new HsmResourceKeyWrapper(session, key);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public byte[] Wrap(ReadOnlySpan<byte> dataKey)
    {
        var copy = dataKey.ToArray();
        try
        {
            return Borrow(session => session.Encrypt(_key, copy));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    public byte[] Unwrap(ReadOnlySpan<byte> wrapped)
    {
        var copy = wrapped.ToArray();
        try
        {
            return Borrow(session => session.Decrypt(_key, copy));
        }
        catch (Exception e) when (e is HsmException or FormatException)
        {
            throw new CryptographicException($"the data key does not unwrap with {KeyName}: {e.Message}", e);
        }
    }

    private byte[] Borrow(Func<HsmSession, byte[]> operation)
    {
        var session = _sessions.Rent();
        try
        {
            return operation(session);
        }
        finally
        {
            _sessions.Return(session);
        }
    }

    public void Dispose() => _sessions.Dispose();
}
