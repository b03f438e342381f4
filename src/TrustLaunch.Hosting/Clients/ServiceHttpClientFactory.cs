using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// HttpClients for service-to-service calls: present our certificate as the TLS client certificate and accept a
/// server only when its certificate chains to our CA bundle (no system roots) for server authentication, is not
/// revoked, carries the role the caller expects there (a valid certificate of another role is refused) and matches
/// the host name — or, when pinned, is exactly the expected certificate (an agent's registered TLS certificate).
/// A refused server fails the request with <see cref="HttpRequestException"/> whose message is the reason.
/// </summary>
public sealed class ServiceHttpClientFactory(TlsIdentity identity)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <param name="baseAddress">e.g. <c>https://127.0.0.1:8891/</c>.</param>
    /// <param name="serverRole">The role (<see cref="ServiceRoles"/>) the server's certificate must carry.</param>
    /// <param name="pinnedServerCertificate">If set, the server must present exactly this certificate (still chaining to our CA); the host name is then not checked.</param>
    public HttpClient Create(Uri baseAddress, string serverRole, X509Certificate2? pinnedServerCertificate = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        if (!ServiceRoles.IsServer(serverRole))
            throw new ArgumentException($"'{serverRole}' is not a server role: expected one of {string.Join(", ", ServiceRoles.All.Where(ServiceRoles.IsServer))}", nameof(serverRole));
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            // One client serves concurrent calls: a shared cookie jar would mix one call's session into another's.
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [identity.Certificate],
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    ValidateServer(certificate as X509Certificate2, chain, errors, serverRole, pinnedServerCertificate) is not { } reason
                        ? true
                        : throw new ServerCertificateRefusedException($"server {baseAddress.Authority} refused: {reason}"),
            },
        };
        return new HttpClient(new ServerRefusalHandler(handler), disposeHandler: true) { BaseAddress = baseAddress, Timeout = timeout ?? DefaultTimeout };
    }

    /// <summary>Null when the server certificate is acceptable, else why not.</summary>
    internal string? ValidateServer(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors, string serverRole, X509Certificate2? pinned)
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
            return $"the server certificate '{certificate.Subject}' does not name this host (its DNS/IP subject alternative names, ca issue --san)";
        }
        if (identity.ValidatePeer(certificate, CaBundle.ServerAuthOid, chain?.ChainPolicy.ExtraStore) is { } untrusted)
            return untrusted;
        var found = CertificateRoles.Read(certificate)?.Role;
        return found == serverRole ? null
            : $"the server certificate '{certificate.Subject}' has role '{found ?? "none"}', expected role '{serverRole}'";
    }

    /// <summary>Surfaces our refusal as the request's error message instead of .NET's generic "SSL connection could not be established".</summary>
    private sealed class ServerRefusalHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (Refusal(e) is { } refusal)
            {
                throw new HttpRequestException(HttpRequestError.SecureConnectionError, refusal.Message, refusal);
            }
        }

        private static ServerCertificateRefusedException? Refusal(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                if (e is ServerCertificateRefusedException refusal)
                    return refusal;
            }
            return null;
        }
    }
}

/// <summary>The server's TLS certificate was refused; the message says why (role, revocation, chain, name).</summary>
public sealed class ServerCertificateRefusedException(string message) : AuthenticationException(message);
