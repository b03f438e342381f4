using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// HttpClients for service-to-service calls: present our certificate as the TLS client certificate and accept a
/// server only when its certificate chains to our CA bundle (no system roots) for server authentication and matches
/// the host name — or, when pinned, is exactly the expected certificate (an agent's registered TLS certificate).
/// </summary>
public sealed class ServiceHttpClientFactory(TlsIdentity identity)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <param name="baseAddress">e.g. <c>https://127.0.0.1:8891/</c>.</param>
    /// <param name="pinnedServerCertificate">If set, the server must present exactly this certificate (still chaining to our CA); the host name is then not checked.</param>
    public HttpClient Create(Uri baseAddress, X509Certificate2? pinnedServerCertificate = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [identity.Certificate],
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    ValidateServer(certificate as X509Certificate2, chain, errors, pinnedServerCertificate) is null,
            },
        };
        return new HttpClient(handler, disposeHandler: true) { BaseAddress = baseAddress, Timeout = timeout ?? DefaultTimeout };
    }

    /// <summary>Null when the server certificate is acceptable, else why not.</summary>
    internal string? ValidateServer(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2? pinned)
    {
        if (certificate is null)
            return "the server sent no certificate";
        if (pinned is not null)
        {
            if (!CryptographicOperations.FixedTimeEquals(certificate.RawData, pinned.RawData))
                return $"the server certificate '{certificate.Subject}' is not the pinned one";
        }
        else if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return $"the server certificate '{certificate.Subject}' does not name this host";
        }
        return identity.Trust.Validate(certificate, CaBundle.ServerAuthOid, chain?.ChainPolicy.ExtraStore);
    }
}
