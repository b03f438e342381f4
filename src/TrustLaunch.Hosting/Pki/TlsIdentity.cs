using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// What a service presents and trusts on TLS: its certificate with private key (issued by
/// <see cref="CertificateAuthority"/>), the CA bundle peers must chain to, and the CA's revocation list.
/// </summary>
public sealed class TlsIdentity : IDisposable
{
    private TlsIdentity(X509Certificate2 certificate, CaBundle trust, RevocationListFile revocation)
    {
        Certificate = certificate;
        Trust = trust;
        Revocation = revocation;
    }

    public X509Certificate2 Certificate { get; }
    public CaBundle Trust { get; }
    public RevocationListFile Revocation { get; }

    /// <summary>Role and name from the certificate's <c>trustlaunch://</c> URI.</summary>
    public (string Role, string Name)? Identity => CertificateRoles.Read(Certificate);

    /// <summary>
    /// Loads PEM files: certificate, its private key, the CA bundle and the CRL (default: <c>crl.pem</c> next to the
    /// bundle). Refuses when any of their directories holds the CA private key.
    /// </summary>
    public static TlsIdentity Load(string certificatePath, string keyPath, string caBundlePath, string? revocationListPath = null)
    {
        revocationListPath ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(caBundlePath))!, RevocationListFile.FileName);
        foreach (var path in new[] { certificatePath, keyPath, caBundlePath, revocationListPath })
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"TLS file not found: {path}", path);
            RefuseCaKeyBeside(path);
        }
        var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        CaBundle? trust = null;
        try
        {
            trust = CaBundle.Load(caBundlePath);
            return new TlsIdentity(certificate, trust, new RevocationListFile(revocationListPath, trust));
        }
        catch
        {
            trust?.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The layout <c>trustlaunch ca issue ROLE NAME --dir D</c> writes: <c>D/NAME.crt</c>, <c>D/NAME.key</c>, <c>D/ca.crt</c>, <c>D/crl.pem</c>.</summary>
    public static TlsIdentity FromDirectory(string directory, string name) =>
        Load(Path.Combine(directory, name + ".crt"), Path.Combine(directory, name + ".key"), Path.Combine(directory, CertificateAuthority.CertificateFile));

    /// <summary>
    /// A TLS peer's certificate: chains to our bundle for <paramref name="requiredEkuOid"/> and is not revoked.
    /// Null when acceptable, else why not.
    /// </summary>
    public string? ValidatePeer(X509Certificate2 certificate, string requiredEkuOid, X509Certificate2Collection? extraIntermediates) =>
        Trust.Validate(certificate, requiredEkuOid, extraIntermediates) ?? Revocation.Check(certificate);

    /// <summary>A process that can read the CA key can mint a certificate of any role: services get ca.crt only.</summary>
    private static void RefuseCaKeyBeside(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (File.Exists(Path.Combine(directory, CertificateAuthority.KeyFile)))
            throw new IOException(
                $"{directory} holds the CA private key {CertificateAuthority.KeyFile}: a service that can read it can issue certificates of any role; "
                + "keep it in the CA key directory (trustlaunch ca init --key-dir) and give services ca.crt and crl.pem only");
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Trust.Dispose();
    }
}
