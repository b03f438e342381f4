using System.Security.Cryptography;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Crypt;

/// <summary>A private key that can unwrap ocicrypt layer keys: RSA (RSA-OAEP, RSA-OAEP-256) or EC (ECDH-ES+A256KW).
/// PEM PKCS#1, SEC1 or PKCS#8.</summary>
public sealed class DecryptionKey : IDisposable
{
    private DecryptionKey(RSA? rsa, ECDiffieHellman? ecdh, string source)
    {
        Rsa = rsa;
        Ecdh = ecdh;
        Source = source;
    }

    internal RSA? Rsa { get; }
    internal ECDiffieHellman? Ecdh { get; }

    /// <summary>Where the key came from (a file name), for messages.</summary>
    public string Source { get; }

    public static DecryptionKey FromFile(string path) => FromPem(File.ReadAllText(path), path);

    public static DecryptionKey FromPem(string pem, string source = "PEM text")
    {
        var key = PemKeys.ParsePrivateKey(pem, source);
        switch (key)
        {
            case RSA rsa:
                return new DecryptionKey(rsa, null, source);
            case ECDsa ec:
                {
                    var p = ec.ExportParameters(true);
                    try
                    {
                        return new DecryptionKey(null, ECDiffieHellman.Create(p), source);
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

    public void Dispose()
    {
        Rsa?.Dispose();
        Ecdh?.Dispose();
    }
}

/// <summary>A recipient of an encrypted layer: an RSA or EC (P-256/P-384/P-521) public key, PEM SPKI.</summary>
public sealed class EncryptionRecipient : IDisposable
{
    private EncryptionRecipient(RSA? rsa, ECParameters? ec)
    {
        Rsa = rsa;
        EcPublic = ec;
    }

    internal RSA? Rsa { get; }
    internal ECParameters? EcPublic { get; }

    public static EncryptionRecipient FromFile(string path) => FromPem(File.ReadAllText(path), path);

    public static EncryptionRecipient FromPem(string pem, string source = "PEM text")
    {
        var key = PemKeys.ParsePublicKey(pem, source);
        if (key is RSA rsa)
            return new EncryptionRecipient(rsa, null);
        using var ec = (ECDsa)key;
        var p = ec.ExportParameters(false);
        PemKeys.CurveName(p.Curve);
        return new EncryptionRecipient(null, p);
    }

    public void Dispose() => Rsa?.Dispose();
}
