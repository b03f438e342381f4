using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Registrar;

/// <summary>
/// How a registrar runs: its data directory (<c>registrar.db</c> unless <see cref="Store"/> is PostgreSQL), the agent-facing TLS listener, the management
/// mTLS listener, its TLS identity, and the EK certificate policy (<paramref name="EkCa"/> may be null only when EK
/// certificates are not required; then presented certificates are stored unchecked).
/// </summary>
public sealed record RegistrarOptions(
    string DataDirectory,
    ServiceEndpoint AgentEndpoint,
    ServiceEndpoint ManagementEndpoint,
    TlsIdentity Tls,
    CaBundle? EkCa,
    bool RequireEkCertificate)
{
    public const int DefaultAgentPort = 8890;
    public const int DefaultManagementPort = 8891;

    /// <summary>Where registrations are kept: SQLite in <see cref="DataDirectory"/> (default) or PostgreSQL.</summary>
    public StoreLocation Store { get; init; } = StoreLocation.Sqlite;
}
