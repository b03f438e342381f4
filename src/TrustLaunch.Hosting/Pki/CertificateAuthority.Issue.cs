using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

public sealed partial class CertificateAuthority
{
    public static readonly TimeSpan DefaultLeafLifetime = TimeSpan.FromDays(90);
    private const string IssuedDirectory = "issued";

    /// <summary>
    /// Issues a leaf certificate for <paramref name="role"/> and writes <c>NAME.crt</c> / <c>NAME.key</c> into
    /// <paramref name="outputDirectory"/> (default: the TLS directory; another directory also gets ca.crt and crl.pem,
    /// so it is a complete <c>--tls-dir</c>). Server roles get exactly the DNS/IP names given (none by default) and
    /// server plus client authentication; client-only roles (tenant) get no DNS/IP name and client authentication only.
    /// </summary>
    public IssuedCertificate Issue(string role, string name, SubjectAltNames? names = null, TimeSpan? lifetime = null, string? outputDirectory = null)
    {
        if (!ServiceRoles.IsKnown(role))
            throw new ArgumentException($"unknown role '{role}': expected one of {string.Join(", ", ServiceRoles.All)}", nameof(role));
        ValidateName(name);
        names ??= SubjectAltNames.None;
        var server = ServiceRoles.IsServer(role);
        if (!server && !names.IsEmpty)
            throw new ArgumentException($"role '{role}' is client-only: its certificate gets no DNS/IP subject alternative names (got {names})", nameof(names));
        var validity = lifetime ?? DefaultLeafLifetime;
        if (validity <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(lifetime), validity, "the certificate lifetime must be positive");

        var sans = new SubjectAlternativeNameBuilder();
        foreach (var dns in names.DnsNames)
            sans.AddDnsName(dns);
        foreach (var ip in names.IpAddresses)
            sans.AddIpAddress(ip);
        sans.AddUri(new Uri(CertificateRoles.IdentityUri(role, name)));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN={name}, OU={role}, O=TrustLaunch");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(server
            ? [new Oid(CaBundle.ServerAuthOid), new Oid(CaBundle.ClientAuthOid)]
            : [new Oid(CaBundle.ClientAuthOid)], false));
        request.CertificateExtensions.Add(sans.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + validity < _certificate.NotAfter ? now + validity : new DateTimeOffset(_certificate.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive INTEGER
        using var leaf = request.Create(_certificate, now - ClockSkew, notAfter, serial);

        var directory = outputDirectory is null ? Directory : Path.GetFullPath(outputDirectory);
        System.IO.Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, name + ".crt");
        var keyPath = Path.Combine(directory, name + ".key");
        RecordIssued(name, leaf);
        KeyFiles.WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        KeyFiles.WritePublic(certPath, leaf.ExportCertificatePem());
        if (directory != Directory)
        {
            foreach (var file in new[] { CertificateFile, RevocationListFile.FileName })
                KeyFiles.WritePublic(Path.Combine(directory, file), File.ReadAllText(Path.Combine(KeyDirectory, file)));
        }
        return new IssuedCertificate(role, name, certPath, keyPath, leaf.Subject, leaf.SerialNumber, leaf.Thumbprint, leaf.NotAfter, names.ToString());
    }

    /// <summary>A new key and certificate for <paramref name="name"/>, with the role and names of its latest
    /// certificate. The old certificate stays valid until it expires or is revoked.</summary>
    public IssuedCertificate Renew(string name, TimeSpan? lifetime = null, string? outputDirectory = null)
    {
        ValidateName(name);
        using var latest = IssuedTo(name).LastOrDefault()
            ?? throw new FileNotFoundException($"this CA has issued no certificate named '{name}' (nothing in {IssuedPath(name)})");
        var (role, _) = CertificateRoles.Read(latest) ?? throw new InvalidDataException($"{IssuedPath(name)}: the latest certificate has no trustlaunch:// role");
        return Issue(role, name, SubjectAltNames.Read(latest), lifetime, outputDirectory);
    }

    /// <summary>Every certificate issued to <paramref name="name"/>, oldest first.</summary>
    private List<X509Certificate2> IssuedTo(string name)
    {
        var path = IssuedPath(name);
        if (!System.IO.Directory.Exists(path))
            return [];
        return [.. System.IO.Directory.GetFiles(path, "*.crt").Order(StringComparer.Ordinal).Select(path => X509Certificate2.CreateFromPem(File.ReadAllText(path)))];
    }

    private void RecordIssued(string name, X509Certificate2 leaf)
    {
        var path = IssuedPath(name);
        System.IO.Directory.CreateDirectory(path);
        var sequence = System.IO.Directory.GetFiles(path, "*.crt").Length + 1;
        KeyFiles.WritePublic(Path.Combine(path, string.Create(CultureInfo.InvariantCulture, $"{sequence:D6}-{leaf.SerialNumber}.crt")), leaf.ExportCertificatePem());
    }

    private string IssuedPath(string name) => Path.Combine(KeyDirectory, IssuedDirectory, name);

    /// <summary>Names become file names and URI paths: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name[0] == '.' || name == "ca" || name == "crl"
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException(
                $"invalid certificate name '{name}': use 1-128 letters, digits, '.', '_' or '-', not starting with '.', and not 'ca' or 'crl'", nameof(name));
    }
}
