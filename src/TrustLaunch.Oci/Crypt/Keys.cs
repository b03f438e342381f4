using System.Security.Cryptography;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Crypt;

/// <summary>A private key that can unwrap ocicrypt layer keys: RSA (RSA-OAEP, RSA-OAEP-256) or EC (ECDH-ES+A256KW).
/// PEM PKCS#1, SEC1 or PKCS#8.</summary>
public sealed class DecryptionKey : IDisposable
{
    private DecryptionKey(JweDecryptionKey key, string source)
    {
        Key = key;
        Source = source;
    }

    internal JweDecryptionKey Key { get; }

    /// <summary>Where the key came from (a file name), for messages.</summary>
    public string Source { get; }

    public static DecryptionKey FromFile(string path) => FromPem(File.ReadAllText(path), path);

    public static DecryptionKey FromPem(string pem, string source = "PEM text")
    {
        var key = PemKeys.ParsePrivateKey(pem, source);
        switch (key)
        {
            case RSA rsa:
                return new DecryptionKey(JweDecryptionKey.FromRsa(rsa), source);
            case ECDsa ec:
                {
                    var p = ec.ExportParameters(true);
                    try
                    {
                        return new DecryptionKey(JweDecryptionKey.FromEcdh(ECDiffieHellman.Create(p)), source);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(p.D);
                        ec.Dispose();
                    }
                }
            default:
                key.Dispose();
                throw new CryptographicException($"{source}: not an RSA or EC key");
        }
    }

    public void Dispose() => Key.Dispose();
}

/// <summary>A recipient of an encrypted layer: an RSA or EC (P-256/P-384/P-521) public key, PEM SPKI.</summary>
public sealed class EncryptionRecipient
{
    private EncryptionRecipient(Jwk key) => Key = key;

    internal Jwk Key { get; }

    public static EncryptionRecipient FromFile(string path) => FromPem(File.ReadAllText(path), path);

    public static EncryptionRecipient FromPem(string pem, string source = "PEM text")
    {
        using var key = PemKeys.ParsePublicKey(pem, source);
        return new EncryptionRecipient(Jwk.FromPublicKey(key));
    }
}
