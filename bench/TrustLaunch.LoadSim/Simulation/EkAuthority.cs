using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// The simulator's TPM manufacturer: a CA (<c>ek-ca.crt</c>, pass it to the registrar's <c>--ek-ca</c>) that issues
/// EK certificates for the simulated agents' RSA EKs, and a cache of EK keys (<c>ek/N.pem</c>) so that repeated runs
/// skip the RSA 2048 key generation.
/// </summary>
public sealed class EkAuthority : IDisposable
{
    public const string CertificateFile = "ek-ca.crt";
    private const string KeyFile = "ek-ca.key";

    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;
    private readonly string _keyDirectory;

    private EkAuthority(string directory, ECDsa key, X509Certificate2 certificate)
    {
        _key = key;
        _certificate = certificate;
        _keyDirectory = Path.Combine(directory, "ek");
        Directory.CreateDirectory(_keyDirectory);
    }

    /// <summary>Opens the EK CA in <paramref name="directory"/>, creating it the first time.</summary>
    public static EkAuthority OpenOrCreate(string directory)
    {
        Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            key.ImportFromPem(File.ReadAllText(keyPath));
            return new EkAuthority(directory, key, X509CertificateLoader.LoadCertificateFromFile(certPath));
        }
        var request = new CertificateRequest("CN=TrustLaunch LoadSim EK CA, O=TrustLaunch", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        KeyFiles.WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        KeyFiles.WritePublic(certPath, certificate.ExportCertificatePem());
        return new EkAuthority(directory, key, certificate);
    }

    /// <summary>The EK of simulated agent <paramref name="index"/>: from the cache, else generated and cached.</summary>
    public RSA EkKey(int index)
    {
        var path = Path.Combine(_keyDirectory, $"{index}.pem");
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
            return rsa;
        }
        rsa.KeySize = 2048;
        KeyFiles.WritePrivate(path, rsa.ExportPkcs8PrivateKeyPem());
        return rsa;
    }

    /// <summary>An EK certificate (DER) for <paramref name="ek"/>, as a TPM carries in NV 0x01C00002.</summary>
    public byte[] IssueEkCertificate(RSA ek, string agentId)
    {
        var request = new CertificateRequest($"CN=LoadSim EK {agentId}", ek, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(_certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key),
            now.AddDays(-1), now.AddYears(10), RandomNumberGenerator.GetBytes(16));
        return certificate.RawData;
    }

    public void Dispose()
    {
        _key.Dispose();
        _certificate.Dispose();
    }
}
