using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Web;

/// <summary>Kestrel's client-certificate check: the certificate must chain to our CA bundle (never system roots),
/// allow client authentication and not be revoked (the CRL is re-read when it changes). A refusal is logged with its
/// reason and fails the TLS handshake.</summary>
internal sealed partial class ClientCertificateValidator(TlsIdentity identity, ILogger logger)
{
    public bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var reason = identity.ValidatePeer(certificate, CaBundle.ClientAuthOid, chain?.ChainPolicy.ExtraStore);
        if (reason is null)
            return true;
        LogRefused(logger, certificate.Subject, reason);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "client certificate {Subject} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string subject, string reason);
}
