using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Verifier.Apis;
using TrustLaunch.Verifier.Images;
using TrustLaunch.Verifier.Notifications;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Push;
using TrustLaunch.Verifier.Retention;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier;

/// <summary>Builds the verifier service (<c>trustlaunch serve verifier</c>).</summary>
public static class VerifierApp
{
    public static async Task<WebApplication> BuildAsync(VerifierOptions options, RegistryClientOptions? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RetireAfter < EarToken.Lifetime)
            throw new ArgumentOutOfRangeException(nameof(options), $"retired keys must outlive the tokens they signed ({EarToken.Lifetime})");
        var store = await VerifierStore.OpenAsync(options.Store, options.DataDirectory, cancellationToken).ConfigureAwait(false);
        var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Verifier, options.Tls,
            [options.AgentEndpoint, options.TenantEndpoint], [VerifierMetrics.MeterName]));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        // Created by the container, so disposed with it (closing PostgreSQL connections).
        builder.Services.AddSingleton<IVerifierStore>(_ => store);
        builder.Services.AddSingleton<IReadinessCheck>(store.Database);
        builder.Services.AddSingleton(VerifierSigningKey.LoadOrCreate(options.DataDirectory));
        builder.Services.AddSingleton<VerifierMetrics>();
        builder.Services.AddSingleton<PolicyCache>();
        builder.Services.AddSingleton<AgentConnections>();
        builder.Services.AddSingleton<RevocationNotices>();
        builder.Services.AddSingleton<EvidenceRecorder>();
        builder.Services.AddSingleton<AgentAttestation>();
        builder.Services.AddSingleton<PushAttestation>();
        builder.Services.AddSingleton<PushDeadlines>();
        builder.Services.AddSingleton(new RegistryClient(registry));
        builder.Services.AddSingleton<ImageAttestor>();
        builder.Services.AddHostedService<AttestationPoller>();
        builder.Services.AddHostedService<WebhookDispatcher>();
        builder.Services.AddHostedService<StorePruner>();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapOperations();
        app.MapTenantApi(options.TenantEndpoint);
        app.MapDashboard(options.TenantEndpoint);
        app.MapAgentFacingApi(options.AgentEndpoint);
        return app;
    }
}
