using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// What a service presents and trusts on TLS: its certificate with private key (issued by
/// <see cref="CertificateAuthority"/>) and the CA bundle peers must chain to.
/// </summary>
public sealed class TlsIdentity : IDisposable
{
    private TlsIdentity(X509Certificate2 certificate, CaBundle trust)
    {
        Certificate = certificate;
        Trust = trust;
    }

    public X509Certificate2 Certificate { get; }
    public CaBundle Trust { get; }

    /// <summary>Role and name from the certificate's <c>trustlaunch://</c> URI.</summary>
    public (string Role, string Name)? Identity => CertificateRoles.Read(Certificate);

    /// <summary>Loads PEM files: certificate, its private key, and the CA bundle.</summary>
    public static TlsIdentity Load(string certificatePath, string keyPath, string caBundlePath)
    {
        foreach (var path in new[] { certificatePath, keyPath, caBundlePath })
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"TLS file not found: {path}", path);
        }
        var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        try
        {
            return new TlsIdentity(certificate, CaBundle.Load(caBundlePath));
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The layout <c>trustlaunch ca issue ROLE NAME --dir D</c> writes: <c>D/NAME.crt</c>, <c>D/NAME.key</c>, <c>D/ca.crt</c>.</summary>
    public static TlsIdentity FromDirectory(string directory, string name) =>
        Load(Path.Combine(directory, name + ".crt"), Path.Combine(directory, name + ".key"), Path.Combine(directory, CertificateAuthority.CertificateFile));

    public void Dispose()
    {
        Certificate.Dispose();
        Trust.Dispose();
    }
}
