using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier;

/// <summary>
/// How a verifier runs: data directory (signing key; <c>verifier.db</c> unless <see cref="Store"/> is PostgreSQL), the agent-facing TLS listener (image
/// attestation, public key, push-mode challenges and evidence), the tenant mTLS listener, its TLS identity (also its client identity towards the
/// registrar and agents), the registrar's management URL, the polling cadence and limits, and webhook URLs that
/// receive revocation notifications.
/// </summary>
public sealed record VerifierOptions(
    string DataDirectory,
    ServiceEndpoint AgentEndpoint,
    ServiceEndpoint TenantEndpoint,
    TlsIdentity Tls,
    Uri RegistrarUrl,
    TimeSpan QuoteInterval,
    int MaxConcurrency,
    int UnreachableAfter,
    IReadOnlyList<string> WebhookUrls)
{
    public const int DefaultAgentPort = 8880;
    public const int DefaultTenantPort = 8881;
    public static readonly TimeSpan DefaultQuoteInterval = TimeSpan.FromSeconds(2);
    public const int DefaultMaxConcurrency = 64;
    public const int DefaultUnreachableAfter = 3;
    public static readonly TimeSpan DefaultLease = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan DefaultRetireAfter = TimeSpan.FromDays(1);
    public const int DefaultWebhookMaxAttempts = 20;

    /// <summary>Where policies, agents and results are kept: SQLite in <see cref="DataDirectory"/> (default) or PostgreSQL.</summary>
    public StoreLocation Store { get; init; } = StoreLocation.Sqlite;

    /// <summary>How long one agent call may take before it counts as a network fault.</summary>
    public TimeSpan AgentTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How late a push-mode agent's evidence may be before it is Unreachable: one quote interval, and at least as long as
    /// a challenge lives (<see cref="AgentTimeout"/>, as long as a pull-mode quote may take), so a slow quote that still
    /// makes its challenge never counts as missed.
    /// </summary>
    public TimeSpan PushGrace => QuoteInterval > AgentTimeout ? QuoteInterval : AgentTimeout;

    /// <summary>The first deadline of a push-mode agent added (or resumed) now: one interval and the grace.</summary>
    public DateTimeOffset FirstPushDeadline(DateTimeOffset now) => now + QuoteInterval + PushGrace;

    /// <summary>The longest per-agent back-off after repeated network faults.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// This instance among the verifiers sharing the store. Stable across restarts by default (host name and agent
    /// port), so a restarted instance takes its unexpired leases straight back.
    /// </summary>
    public string InstanceId { get; init; } = $"{Environment.MachineName}:{AgentEndpoint.Address.Port}";

    /// <summary>
    /// How long an agent stays leased to this instance without renewal (renewed every third of it): an instance
    /// that dies loses its agents to the others within this time and one renewal period. Default 15 s, or two quote
    /// intervals when that is longer.
    /// </summary>
    public TimeSpan Lease { get; init; } = QuoteInterval * 2 > DefaultLease ? QuoteInterval * 2 : DefaultLease;

    /// <summary>Which attestation results are kept (default all); pruned in the background.</summary>
    public ResultRetention Retention { get; init; } = ResultRetention.KeepAll;

    /// <summary>
    /// How long after its last heartbeat a dead instance is forgotten, and after its last possible use a retired
    /// signing key is removed (never less than <see cref="EarToken.Lifetime"/>: every token it signed has expired).
    /// </summary>
    public TimeSpan RetireAfter { get; init; } = DefaultRetireAfter;

    /// <summary>How often results, dead instances and retired keys are pruned.</summary>
    public TimeSpan PruneInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Delivery attempts of one notification before it is dead-lettered (kept in the store, no longer retried).</summary>
    public int WebhookMaxAttempts { get; init; } = DefaultWebhookMaxAttempts;

    /// <summary>The verifier id in EAR results: its certificate's name.</summary>
    public string VerifierId => Tls.Identity is { } id ? $"trustlaunch-verifier/{id.Name}" : "trustlaunch-verifier";
}
