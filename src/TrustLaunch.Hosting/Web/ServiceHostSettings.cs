using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Web;

/// <summary>What <see cref="ServiceHost.CreateBuilder"/> needs: the role (log category, metrics service name), the
/// TLS identity, the listeners, and the meters whose instruments <c>/metrics</c> exports.</summary>
public sealed record ServiceHostSettings(
    string Role,
    TlsIdentity Tls,
    IReadOnlyList<ServiceEndpoint> Endpoints,
    IReadOnlyList<string> Meters)
{
    /// <summary>A plain-HTTP unix socket listener besides <see cref="Endpoints"/>, for the routes bound with
    /// <see cref="ClientRoles.OnUnixSocket"/>: no TLS, so the socket file's mode is what guards it. Null: none.</summary>
    public string? UnixSocket { get; init; }
}
