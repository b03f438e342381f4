namespace TrustLaunch.Hosting.Pki;

/// <summary>The roles a TrustLaunch certificate can be issued for; recorded in the certificate by
/// <see cref="CertificateAuthority.Issue"/> and read back by <see cref="CertificateRoles"/>.</summary>
public static class ServiceRoles
{
    public const string Registrar = "registrar";
    public const string Verifier = "verifier";
    public const string Agent = "agent";
    public const string Tenant = "tenant";
    public const string Kbs = "kbs";

    /// <summary>The key broker's administrators (its resources and resource policy); client-only.</summary>
    public const string KbsAdmin = "kbs-admin";

    public static IReadOnlyList<string> All { get; } = [Registrar, Verifier, Agent, Tenant, Kbs, KbsAdmin];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>Roles that serve TLS (and call others as clients); the others are client-only: no server
    /// authentication, no DNS/IP names.</summary>
    public static bool IsServer(string role) => IsKnown(role) && role is not (Tenant or KbsAdmin);
}
