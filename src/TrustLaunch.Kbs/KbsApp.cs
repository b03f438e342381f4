using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Apis;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Kbs.Sessions;

namespace TrustLaunch.Kbs;

/// <summary>Builds the key broker (<c>trustlaunch serve kbs</c>).</summary>
public static class KbsApp
{
    public static async Task<WebApplication> BuildAsync(KbsOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.AdminEndpoint.RequireClientCertificate)
            throw new ArgumentException("the admin listener must require client certificates (mutual TLS)", nameof(options));
        if (options.TokenVerifier.KeyId != options.TokenSigner.KeyId)
            throw new ArgumentException($"the token verifier's key '{options.TokenVerifier.KeyId}' is not the signing key '{options.TokenSigner.KeyId}'", nameof(options));
        PrivateFiles.CreateDirectory(options.DataDirectory);
        var store = await ResourceStore.OpenAsync(options.Store, options.DataDirectory, cancellationToken).ConfigureAwait(false);
        var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Kbs, options.Tls,
            [options.Endpoint, options.AdminEndpoint], [KbsMetrics.MeterName]));
        var clock = time ?? TimeProvider.System;
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(clock);
        // Created by the container, so disposed with it (closing PostgreSQL connections).
        builder.Services.AddSingleton(_ => store);
        builder.Services.AddSingleton<IReadinessCheck>(store.Database);
        builder.Services.AddSingleton<ResourcePolicyHolder>();
        builder.Services.AddSingleton<KbsMetrics>();
        builder.Services.AddSingleton(new KbsSessionStore(options.SessionTimeout, clock));
        builder.Services.AddSingleton<INodeDirectory>(services =>
        {
            var clients = services.GetRequiredService<ServiceHttpClientFactory>();
            return new RegistrarVerifierDirectory(
                new RegistrarClient(clients.Create(options.RegistrarManagement, ServiceRoles.Registrar)),
                new VerifierClient(clients.Create(options.Verifier, ServiceRoles.Verifier)));
        });
        builder.Services.AddSingleton(services => new NodeStanding(services.GetRequiredService<INodeDirectory>(), clock, options.StandingCache,
            options.MaxAppraisalAge));
        builder.Services.AddSingleton<TpmAttestationVerifier>();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapOperations();
        app.MapKbsApi(options.Endpoint);
        app.MapResourceApi(options.Endpoint);
        app.MapAdminApi(options.AdminEndpoint);
        return app;
    }
}
