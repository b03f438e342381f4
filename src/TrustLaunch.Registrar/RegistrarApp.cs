using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Registrar.Apis;
using TrustLaunch.Registrar.Registration;
using TrustLaunch.Registrar.Storage;

namespace TrustLaunch.Registrar;

/// <summary>Builds the registrar service (<c>trustlaunch serve registrar</c>).</summary>
public static class RegistrarApp
{
    public static async Task<WebApplication> BuildAsync(RegistrarOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RequireEkCertificate && options.EkCa is null)
            throw new ArgumentException("EK certificates are required but no EK CA bundle was given (--ek-ca FILE, or --require-ek-cert false)");
        var store = await RegistrarStore.OpenAsync(options.Store, options.DataDirectory, cancellationToken).ConfigureAwait(false);
        var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Registrar, options.Tls,
            [options.AgentEndpoint, options.ManagementEndpoint], [RegistrarMetrics.MeterName]));
        builder.Services.AddSingleton(options);
        // Created by the container, so disposed with it (closing PostgreSQL connections).
        builder.Services.AddSingleton<IRegistrarStore>(_ => store);
        builder.Services.AddSingleton<IReadinessCheck>(store.Database);
        builder.Services.AddSingleton<RegistrarMetrics>();
        builder.Services.AddSingleton<RegistrationService>();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapOperations();
        app.MapAgentRegistrationApi(options.AgentEndpoint);
        app.MapManagementApi(options.ManagementEndpoint);
        return app;
    }
}
