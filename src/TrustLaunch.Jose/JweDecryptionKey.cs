using System.Security.Cryptography;

namespace TrustLaunch.Jose;

/// <summary>A private key that opens JWEs: RSA (<c>RSA-OAEP</c>, <c>RSA-OAEP-256</c>) or EC
/// (<c>ECDH-ES+A256KW</c>). Owns (and disposes) the key it is made from.</summary>
public sealed class JweDecryptionKey : IDisposable
{
    private JweDecryptionKey(RSA? rsa, ECDiffieHellman? ecdh)
    {
        Rsa = rsa;
        Ecdh = ecdh;
    }

    internal RSA? Rsa { get; }
    internal ECDiffieHellman? Ecdh { get; }

    public static JweDecryptionKey FromRsa(RSA rsa) => new(rsa ?? throw new ArgumentNullException(nameof(rsa)), null);

    public static JweDecryptionKey FromEcdh(ECDiffieHellman ecdh) => new(null, ecdh ?? throw new ArgumentNullException(nameof(ecdh)));

    /// <summary>A new P-256 key pair, as an attester makes for one handshake.</summary>
    public static JweDecryptionKey CreateP256() => FromEcdh(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The public key to encrypt to, with the <c>alg</c> this key opens
    /// (<c>ECDH-ES+A256KW</c> or <c>RSA-OAEP-256</c>).</summary>
    public Jwk PublicJwk => Rsa is not null
        ? Jwk.FromPublicKey(Rsa) with { Algorithm = JweJson.RsaOaep256 }
        : Jwk.FromPublicKey(Ecdh!) with { Algorithm = JweJson.EcdhEsA256Kw };

    /// <summary>The private key as PKCS#8 PEM, for a caller the key is handed to (a workload's <c>tee_keypair</c>).</summary>
    public string ExportPkcs8PrivateKeyPem() => Rsa is not null ? Rsa.ExportPkcs8PrivateKeyPem() : Ecdh!.ExportPkcs8PrivateKeyPem();

    public void Dispose()
    {
        Rsa?.Dispose();
        Ecdh?.Dispose();
    }
}
