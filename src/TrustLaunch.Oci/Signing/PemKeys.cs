using System.Formats.Asn1;
using System.Security.Cryptography;

namespace TrustLaunch.Oci.Signing;

/// <summary>
/// Loads keys from PEM text: private keys as PKCS#8 (<c>PRIVATE KEY</c>), SEC1 (<c>EC PRIVATE KEY</c>) or PKCS#1
/// (<c>RSA PRIVATE KEY</c>); public keys as SPKI (<c>PUBLIC KEY</c>) or PKCS#1 (<c>RSA PUBLIC KEY</c>). Other PEM
/// blocks (e.g. <c>EC PARAMETERS</c> that <c>openssl ecparam -genkey</c> writes first) are skipped. Error messages
/// name the file and the label, never key bytes.
/// </summary>
public static class PemKeys
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";

    /// <summary>Reads a private key; the result is an <see cref="RSA"/> or an <see cref="ECDsa"/>.</summary>
    public static AsymmetricAlgorithm LoadPrivateKey(string path) => ParsePrivateKey(File.ReadAllText(path), path);

    /// <summary>Reads a public key; the result is an <see cref="RSA"/> or an <see cref="ECDsa"/>.</summary>
    public static AsymmetricAlgorithm LoadPublicKey(string path) => ParsePublicKey(File.ReadAllText(path), path);

    public static AsymmetricAlgorithm ParsePrivateKey(string pem, string source = "PEM text")
    {
        foreach (var (label, der) in Blocks(pem))
        {
            try
            {
                switch (label)
                {
                    case "RSA PRIVATE KEY":
                        return Import(RSA.Create(), r => r.ImportRSAPrivateKey(der, out _));
                    case "EC PRIVATE KEY":
                        return Import(ECDsa.Create(), e => e.ImportECPrivateKey(der, out _));
                    case "PRIVATE KEY":
                        return AlgorithmOid(der, pkcs8: true) switch
                        {
                            RsaOid => Import(RSA.Create(), r => r.ImportPkcs8PrivateKey(der, out _)),
                            EcOid => Import(ECDsa.Create(), e => e.ImportPkcs8PrivateKey(der, out _)),
                            var oid => throw new CryptographicException($"{source}: PKCS#8 key algorithm {oid} is neither RSA nor EC"),
                        };
                    case "ENCRYPTED PRIVATE KEY":
                        throw new CryptographicException($"{source}: encrypted private keys are not supported");
                }
            }
            catch (Exception e) when (e is AsnContentException or CryptographicException && !e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                throw new CryptographicException($"{source}: '{label}' block is not a valid key", e);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
            }
        }
        throw new CryptographicException($"{source}: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block");
    }

    public static AsymmetricAlgorithm ParsePublicKey(string pem, string source = "PEM text")
    {
        foreach (var (label, der) in Blocks(pem))
        {
            try
            {
                switch (label)
                {
                    case "PUBLIC KEY":
                        return AlgorithmOid(der, pkcs8: false) switch
                        {
                            RsaOid => Import(RSA.Create(), r => r.ImportSubjectPublicKeyInfo(der, out _)),
                            EcOid => Import(ECDsa.Create(), e => e.ImportSubjectPublicKeyInfo(der, out _)),
                            var oid => throw new CryptographicException($"{source}: public key algorithm {oid} is neither RSA nor EC"),
                        };
                    case "RSA PUBLIC KEY":
                        return Import(RSA.Create(), r => r.ImportRSAPublicKey(der, out _));
                }
            }
            catch (Exception e) when (e is AsnContentException or CryptographicException && !e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                throw new CryptographicException($"{source}: '{label}' block is not a valid public key", e);
            }
        }
        throw new CryptographicException($"{source}: no PUBLIC KEY block");
    }

    private static T Import<T>(T key, Action<T> import) where T : AsymmetricAlgorithm
    {
        try
        {
            import(key);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static IEnumerable<(string Label, byte[] Der)> Blocks(string pem)
    {
        var rest = pem.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            var der = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
            rest = rest[fields.Location.End..];
            yield return (label, der);
        }
    }

    /// <summary>The algorithm OID of a PKCS#8 PrivateKeyInfo or an X.509 SubjectPublicKeyInfo.</summary>
    private static string AlgorithmOid(byte[] der, bool pkcs8)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        if (pkcs8)
            outer.ReadInteger();
        return outer.ReadSequence().ReadObjectIdentifier();
    }
}
