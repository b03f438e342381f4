using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs;

/// <summary>
/// How a key broker runs: its data directory, the attester-facing TLS listener and the admin listener (mutual TLS,
/// kbs-admin certificates), its TLS identity (also its client certificate towards the registrar's and the
/// verifier's APIs), the key that signs attestation tokens and its public half that checks them, and the HSM key
/// that wraps the resources' data keys.
/// </summary>
public sealed record KbsOptions(
    string DataDirectory,
    ServiceEndpoint Endpoint,
    ServiceEndpoint AdminEndpoint,
    TlsIdentity Tls,
    Uri RegistrarManagement,
    Uri Verifier,
    IPayloadSigner TokenSigner,
    IPayloadVerifier TokenVerifier,
    IResourceKeyWrapper KeyWrapper)
{
    public const int DefaultPort = 8080;
    public const int DefaultAdminPort = 8081;
    public static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultStandingCache = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMaxAppraisalAge = TimeSpan.FromSeconds(10);

    /// <summary>Where resources and policy versions are kept (default: SQLite in the data directory).</summary>
    public StoreLocation Store { get; init; } = StoreLocation.Sqlite;

    /// <summary>How long a session lives after <c>/auth</c>.</summary>
    public TimeSpan SessionTimeout { get; init; } = DefaultSessionTimeout;

    /// <summary>How long an attestation token is good for. Revocation does not wait for it: every resource request
    /// asks the verifier's standing of the node (<see cref="StandingCache"/>).</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the verifier's answer on a node is reused; keep it below the verifier's quote interval so a
    /// node it fails loses access within one interval.</summary>
    public TimeSpan StandingCache { get; init; } = DefaultStandingCache;

    /// <summary>How old a node's last affirming appraisal may be (default five of the verifier's default 2 s quote
    /// intervals); older, the verifier is taken as no longer attesting it.</summary>
    public TimeSpan MaxAppraisalAge { get; init; } = DefaultMaxAppraisalAge;
}
