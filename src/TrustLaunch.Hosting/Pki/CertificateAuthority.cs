using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>Where <see cref="CertificateAuthority.Issue"/> wrote a leaf certificate and its key.</summary>
public sealed record IssuedCertificate(string Role, string Name, string CertificatePath, string KeyPath, string Subject, string SerialNumber,
    string Thumbprint, DateTimeOffset NotAfter, string SubjectAltNames);

/// <summary>
/// The deployment's own CA, split over two directories so that no service can read the CA key (a process that can
/// read it can mint a certificate of any role):
/// <list type="bullet">
/// <item>the key directory (mode 0700, only for whoever runs <c>trustlaunch ca</c>): <c>ca.key</c> (ECDSA P-256, PKCS#8
/// PEM, 0600), <c>ca.crt</c>, <c>crl.pem</c> and <c>issued/NAME/</c>, a copy of every certificate issued (for renew and
/// revoke);</item>
/// <item>the TLS directory services read (<c>--tls-dir</c>): <c>ca.crt</c>, <c>crl.pem</c>, <c>NAME.crt</c>, <c>NAME.key</c>.</item>
/// </list>
/// Leaf certificates carry the role as SAN URI <c>trustlaunch://ROLE/NAME</c> (and as the subject OU).
/// </summary>
public sealed partial class CertificateAuthority : IDisposable
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly X509Certificate2 _certificate;

    private CertificateAuthority(string tlsDirectory, string keyDirectory, X509Certificate2 certificate)
    {
        Directory = tlsDirectory;
        KeyDirectory = keyDirectory;
        _certificate = certificate;
    }

    /// <summary>The TLS directory services read: ca.crt, crl.pem and (by default) the issued NAME.crt/NAME.key.</summary>
    public string Directory { get; }

    /// <summary>Where ca.key lives, apart from <see cref="Directory"/>.</summary>
    public string KeyDirectory { get; }

    public X509Certificate2 Certificate => _certificate;

    /// <summary>Creates a new CA; refuses to replace an existing one, and a key directory inside the TLS directory (or the reverse).</summary>
    public static CertificateAuthority Init(string tlsDirectory, string keyDirectory, string commonName = "TrustLaunch CA")
    {
        (tlsDirectory, keyDirectory) = Apart(tlsDirectory, keyDirectory);
        var keyPath = Path.Combine(keyDirectory, KeyFile);
        if (File.Exists(keyPath) || File.Exists(Path.Combine(keyDirectory, CertificateFile)) || File.Exists(Path.Combine(tlsDirectory, CertificateFile)))
            throw new IOException($"a CA already exists in {keyDirectory} or {tlsDirectory} ({KeyFile}/{CertificateFile}); refusing to replace it");
        CreatePrivateDirectory(keyDirectory);
        System.IO.Directory.CreateDirectory(tlsDirectory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}, O=TrustLaunch"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now - ClockSkew, now + CaLifetime);
        KeyFiles.WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        foreach (var directory in new[] { keyDirectory, tlsDirectory })
            KeyFiles.WritePublic(Path.Combine(directory, CertificateFile), certificate.ExportCertificatePem());
        var ca = new CertificateAuthority(tlsDirectory, keyDirectory, certificate);
        ca.PublishRevocationList(new CertificateRevocationListBuilder(), 1);
        return ca;
    }

    /// <summary>Loads the CA key and certificate from <paramref name="keyDirectory"/>.</summary>
    public static CertificateAuthority Open(string tlsDirectory, string keyDirectory)
    {
        (tlsDirectory, keyDirectory) = Apart(tlsDirectory, keyDirectory);
        if (File.Exists(Path.Combine(tlsDirectory, KeyFile)))
            throw new IOException($"{tlsDirectory} holds the CA private key {KeyFile}, where services can read it: move {KeyFile} and {CertificateFile} "
                + $"into a key directory (mode 0700) and pass it as --key-dir");
        var certPath = Path.Combine(keyDirectory, CertificateFile);
        var keyPath = Path.Combine(keyDirectory, KeyFile);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
            throw new FileNotFoundException($"no CA in {keyDirectory}: run 'trustlaunch ca init --dir {tlsDirectory} --key-dir {keyDirectory}' first", keyPath);
        return new CertificateAuthority(tlsDirectory, keyDirectory, X509Certificate2.CreateFromPemFile(certPath, keyPath));
    }

    private static (string Tls, string Key) Apart(string tlsDirectory, string keyDirectory)
    {
        var tls = Path.TrimEndingDirectorySeparator(Path.GetFullPath(tlsDirectory));
        var key = Path.TrimEndingDirectorySeparator(Path.GetFullPath(keyDirectory));
        if (IsWithin(key, tls) || IsWithin(tls, key))
            throw new ArgumentException($"the CA key directory {key} must be apart from the TLS directory {tls} services read (neither inside the other)");
        return (tls, key);
    }

    private static bool IsWithin(string path, string directory) =>
        path == directory || path.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
            return;
        }
        System.IO.Directory.CreateDirectory(path, OwnerOnlyDirectory);
        // An existing directory keeps its mode otherwise.
        File.SetUnixFileMode(path, OwnerOnlyDirectory);
    }

    public void Dispose() => _certificate.Dispose();
}
