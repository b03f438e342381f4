using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>Where <see cref="CertificateAuthority.Issue"/> wrote a leaf certificate and its key.</summary>
public sealed record IssuedCertificate(string Role, string Name, string CertificatePath, string KeyPath, string Subject, string Thumbprint, DateTimeOffset NotAfter);

/// <summary>
/// The deployment's own CA, in a directory: <c>ca.key</c> (ECDSA P-256, PKCS#8 PEM, mode 0600) and <c>ca.crt</c>
/// (self-signed). Issues leaf certificates <c>NAME.crt</c> / <c>NAME.key</c> for a role, usable for both TLS server
/// and client authentication, carrying the role as SAN URI <c>trustlaunch://ROLE/NAME</c> (and as the subject OU).
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(825);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly X509Certificate2 _certificate;

    private CertificateAuthority(string directory, X509Certificate2 certificate)
    {
        Directory = directory;
        _certificate = certificate;
    }

    public string Directory { get; }
    public X509Certificate2 Certificate => _certificate;

    /// <summary>Creates a new CA in <paramref name="directory"/>; refuses to replace an existing one.</summary>
    public static CertificateAuthority Init(string directory, string commonName = "TrustLaunch CA")
    {
        System.IO.Directory.CreateDirectory(directory);
        var keyPath = Path.Combine(directory, KeyFile);
        if (File.Exists(keyPath) || File.Exists(Path.Combine(directory, CertificateFile)))
            throw new IOException($"a CA already exists in {directory} ({KeyFile}/{CertificateFile}); refusing to replace it");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}, O=TrustLaunch"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now - ClockSkew, now + CaLifetime);
        KeyFiles.WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        KeyFiles.WritePublic(Path.Combine(directory, CertificateFile), certificate.ExportCertificatePem());
        return new CertificateAuthority(directory, certificate);
    }

    /// <summary>Loads the CA key and certificate from <paramref name="directory"/>.</summary>
    public static CertificateAuthority Open(string directory)
    {
        var certPath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
            throw new FileNotFoundException($"no CA in {directory}: run 'trustlaunch ca init --dir {directory}' first", certPath);
        return new CertificateAuthority(directory, X509Certificate2.CreateFromPemFile(certPath, keyPath));
    }

    /// <summary>
    /// Issues a leaf certificate for <paramref name="role"/> and writes <c>NAME.crt</c> / <c>NAME.key</c> into
    /// <paramref name="outputDirectory"/> (default: the CA directory). SANs default to 127.0.0.1, ::1 and localhost.
    /// </summary>
    public IssuedCertificate Issue(string role, string name, IReadOnlyList<string>? dnsNames = null, IReadOnlyList<IPAddress>? ipAddresses = null, string? outputDirectory = null)
    {
        if (!ServiceRoles.IsKnown(role))
            throw new ArgumentException($"unknown role '{role}': expected one of {string.Join(", ", ServiceRoles.All)}", nameof(role));
        ValidateName(name);
        var noSans = (dnsNames is null || dnsNames.Count == 0) && (ipAddresses is null || ipAddresses.Count == 0);
        var sans = new SubjectAlternativeNameBuilder();
        foreach (var dns in noSans ? ["localhost"] : dnsNames ?? [])
            sans.AddDnsName(dns);
        foreach (var ip in noSans ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : ipAddresses ?? [])
            sans.AddIpAddress(ip);
        sans.AddUri(new Uri(CertificateRoles.IdentityUri(role, name)));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN={name}, OU={role}, O=TrustLaunch");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(CaBundle.ServerAuthOid), new Oid(CaBundle.ClientAuthOid)], false));
        request.CertificateExtensions.Add(sans.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + LeafLifetime < _certificate.NotAfter ? now + LeafLifetime : new DateTimeOffset(_certificate.NotAfter);
        using var leaf = request.Create(_certificate, now - ClockSkew, notAfter, RandomNumberGenerator.GetBytes(16));

        var directory = outputDirectory ?? Directory;
        System.IO.Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, name + ".crt");
        var keyPath = Path.Combine(directory, name + ".key");
        KeyFiles.WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        KeyFiles.WritePublic(certPath, leaf.ExportCertificatePem());
        return new IssuedCertificate(role, name, certPath, keyPath, leaf.Subject, leaf.Thumbprint, leaf.NotAfter);
    }

    /// <summary>Names become file names and URI paths: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name[0] == '.' || name == "ca"
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException(
                $"invalid certificate name '{name}': use 1-128 letters, digits, '.', '_' or '-', not starting with '.', and not 'ca'", nameof(name));
    }

    public void Dispose() => _certificate.Dispose();
}
