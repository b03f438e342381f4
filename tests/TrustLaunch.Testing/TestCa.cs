using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Testing;

/// <summary>
/// A test deployment's CA laid out as <c>trustlaunch ca init</c> lays it out: the key in <c>TLS-ca</c>, apart from
/// the TLS directory the services read. Every test service listens on 127.0.0.1, so server certificates name that
/// address (given explicitly, as a deployment would); tenant certificates get no address.
/// </summary>
public static class TestCa
{
    public static SubjectAltNames Loopback { get; } = SubjectAltNames.Parse(["IP:127.0.0.1"]);

    public static string KeyDirectory(string tlsDirectory) => Path.TrimEndingDirectorySeparator(tlsDirectory) + "-ca";

    public static CertificateAuthority Init(string tlsDirectory) => CertificateAuthority.Init(tlsDirectory, KeyDirectory(tlsDirectory), "TrustLaunch test CA");

    public static CertificateAuthority Open(string tlsDirectory) => CertificateAuthority.Open(tlsDirectory, KeyDirectory(tlsDirectory));

    /// <summary>A certificate for <paramref name="role"/>, naming 127.0.0.1 when the role serves TLS.</summary>
    public static IssuedCertificate IssueLoopback(this CertificateAuthority ca, string role, string name, string? outputDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return ca.Issue(role, name, ServiceRoles.IsServer(role) ? Loopback : null, outputDirectory: outputDirectory);
    }

    /// <summary>A certificate for <paramref name="role"/> on another host, naming <paramref name="address"/> when the role serves TLS.</summary>
    public static IssuedCertificate IssueAt(this CertificateAuthority ca, string role, string name, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return ca.Issue(role, name, ServiceRoles.IsServer(role) ? SubjectAltNames.Parse(["IP:" + address]) : null);
    }

    /// <summary>A new CA in <paramref name="tlsDirectory"/> with one certificate per role, named after it.</summary>
    public static void Create(string tlsDirectory, IEnumerable<string>? roles = null)
    {
        using var ca = Init(tlsDirectory);
        foreach (var role in roles ?? ServiceRoles.All)
            ca.IssueLoopback(role, role);
    }

    /// <summary>An HTTPS client for 127.0.0.1:<paramref name="port"/> that trusts only the CA in
    /// <paramref name="tlsDirectory"/> and presents no client certificate; it keeps cookies.</summary>
    public static HttpClient AnonymousClient(string tlsDirectory, int port) =>
        new(TrustingHandler(tlsDirectory)) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };

    /// <summary>A handler that trusts servers whose certificate chains to the test CA, keeps cookies, and presents
    /// <paramref name="clientCertificate"/> when given.</summary>
    public static SocketsHttpHandler TrustingHandler(string tlsDirectory, X509Certificate2? clientCertificate = null)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tlsDirectory, CertificateAuthority.CertificateFile)));
        var handler = new SocketsHttpHandler { CookieContainer = new CookieContainer() };
        if (clientCertificate is not null)
            handler.SslOptions.ClientCertificates = [clientCertificate];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 presented && chain.Build(presented);
        };
        return handler;
    }
}
