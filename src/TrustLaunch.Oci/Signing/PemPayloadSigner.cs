using System.Security.Cryptography;
using TrustLaunch.Jose;

namespace TrustLaunch.Oci.Signing;

/// <summary>
/// Signs with a private key from a PEM file. An EC P-256 key signs ES256; an RSA key signs RS256 (default) or PS256.
/// </summary>
public sealed class PemPayloadSigner : IPayloadSigner, IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    private PemPayloadSigner(AsymmetricAlgorithm key, string algorithm)
    {
        _key = key;
        Algorithm = algorithm;
        KeyId = Jwk.ThumbprintOf(key);
    }

    public string Algorithm { get; }
    public string KeyId { get; }

    /// <summary>The public key (SPKI PEM), for whoever checks this signer's signatures.</summary>
    public string PublicKeyPem => _key.ExportSubjectPublicKeyInfoPem();

    /// <param name="algorithm">For RSA keys, <c>RS256</c> (default) or <c>PS256</c>; EC keys always sign ES256.</param>
    public static PemPayloadSigner FromFile(string path, string? algorithm = null) =>
        FromPem(File.ReadAllText(path), algorithm, path);

    public static PemPayloadSigner FromPem(string pem, string? algorithm = null, string source = "PEM text")
    {
        var key = PemKeys.ParsePrivateKey(pem, source);
        try
        {
            var alg = key switch
            {
                ECDsa ec when JwkCurves.Name(ec.ExportParameters(false).Curve) == JwkCurves.P256 && algorithm is null or JwsAlgorithms.ES256 => JwsAlgorithms.ES256,
                ECDsa ec => throw new CryptographicException($"{source}: EC {JwkCurves.Name(ec.ExportParameters(false).Curve)} key cannot sign {algorithm ?? "ES256"}; ES256 needs a P-256 key"),
                RSA when algorithm is null or JwsAlgorithms.RS256 => JwsAlgorithms.RS256,
                RSA when algorithm is JwsAlgorithms.PS256 => JwsAlgorithms.PS256,
                _ => throw new CryptographicException($"{source}: an RSA key cannot sign {algorithm}; use RS256 or PS256"),
            };
            return new PemPayloadSigner(key, alg);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => JwsSignature.Sign(_key, Algorithm, data);

    public void Dispose() => _key.Dispose();
}

/// <summary>Verifies with a public key from a PEM file (SPKI, or PKCS#1 for RSA).</summary>
public sealed class PemPayloadVerifier : IPayloadVerifier, IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    private PemPayloadVerifier(AsymmetricAlgorithm key)
    {
        _key = key;
        KeyId = Jwk.ThumbprintOf(key);
    }

    public string KeyId { get; }

    public static PemPayloadVerifier FromFile(string path) => new(PemKeys.LoadPublicKey(path));

    public static PemPayloadVerifier FromPem(string pem, string source = "PEM text") => new(PemKeys.ParsePublicKey(pem, source));

    public bool Verify(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        JwsSignature.Verify(_key, algorithm, data, signature);

    public void Dispose() => _key.Dispose();
}
