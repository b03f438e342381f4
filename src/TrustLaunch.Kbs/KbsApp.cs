using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Apis;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Sessions;

namespace TrustLaunch.Kbs;

/// <summary>Builds the key broker (<c>trustlaunch serve kbs</c>).</summary>
public static class KbsApp
{
    public static WebApplication Build(KbsOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        PrivateFiles.CreateDirectory(options.DataDirectory);
        var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Kbs, options.Tls, [options.Endpoint], []));
        var clock = time ?? TimeProvider.System;
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(clock);
        builder.Services.AddSingleton(new KbsSessionStore(options.SessionTimeout, clock));
        builder.Services.AddSingleton<INodeDirectory>(services =>
        {
            var clients = services.GetRequiredService<ServiceHttpClientFactory>();
            return new RegistrarVerifierDirectory(
                new RegistrarClient(clients.Create(options.RegistrarManagement, ServiceRoles.Registrar)),
                new VerifierClient(clients.Create(options.Verifier, ServiceRoles.Verifier)));
        });
        builder.Services.AddSingleton<TpmAttestationVerifier>();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapOperations();
        app.MapKbsApi(options.Endpoint);
        return app;
    }
}
