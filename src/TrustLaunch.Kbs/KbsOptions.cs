using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs;

/// <summary>
/// How a key broker runs: its data directory, the attester-facing TLS listener, its TLS identity (also its client
/// certificate towards the registrar's and the verifier's management APIs), and the key that signs attestation
/// tokens.
/// </summary>
public sealed record KbsOptions(
    string DataDirectory,
    ServiceEndpoint Endpoint,
    TlsIdentity Tls,
    Uri RegistrarManagement,
    Uri Verifier,
    IPayloadSigner TokenSigner)
{
    public const int DefaultPort = 8080;
    public static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromMinutes(5);

    /// <summary>How long a session lives after <c>/auth</c>.</summary>
    public TimeSpan SessionTimeout { get; init; } = DefaultSessionTimeout;

    /// <summary>How long an attestation token is good for; keep it within the verifier's quote interval so a node
    /// the verifier fails loses access soon (see <see cref="KbsToken"/>).</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(1);
}
