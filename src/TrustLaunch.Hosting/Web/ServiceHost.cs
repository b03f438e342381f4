using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Web;

/// <summary>
/// The one way every TrustLaunch service builds its host: slim builder, Kestrel HTTPS listeners from
/// <see cref="ServiceHostSettings"/> (mutual TLS where required, client certificates checked against our CA only) and
/// its unix socket when it has one, source-generated JSON, problem-details errors, JSON console logs, OpenTelemetry metrics for <c>/metrics</c>.
/// </summary>
public static class ServiceHost
{
    /// <summary>ASP.NET Core's own meters, exported next to the service's.</summary>
    private static readonly string[] FrameworkMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    public static WebApplicationBuilder CreateBuilder(ServiceHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = $"trustlaunch-{settings.Role}" });
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        // Per-request framework logs would drown the services' own; /metrics counts requests.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var logger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("TrustLaunch.Hosting.Tls");
            var validator = new ClientCertificateValidator(settings.Tls, logger);
            foreach (var endpoint in settings.Endpoints)
            {
                kestrel.Listen(endpoint.Address, listen => listen.UseHttps(https =>
                {
                    https.ServerCertificate = settings.Tls.Certificate;
                    https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                    https.ClientCertificateMode = endpoint.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
                    https.ClientCertificateValidation = validator.Validate;
                }));
            }
            if (settings.UnixSocket is { } socket)
                kestrel.ListenUnixSocket(socket);
        });
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            // A source-generated context used as a resolver takes names from these options, not its own attribute:
            // match ContractsJsonContext's snake_case so requests bind and responses read the same on both sides.
            o.SerializerOptions.PropertyNamingPolicy = ContractsJsonContext.Default.Options.PropertyNamingPolicy;
            o.SerializerOptions.DefaultIgnoreCondition = ContractsJsonContext.Default.Options.DefaultIgnoreCondition;
            o.SerializerOptions.RespectNullableAnnotations = ContractsJsonContext.Default.Options.RespectNullableAnnotations;
            o.SerializerOptions.RespectRequiredConstructorParameters = ContractsJsonContext.Default.Options.RespectRequiredConstructorParameters;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
        });
        builder.Services.AddProblemDetails();
        // Binding failures throw, so BadRequestProblemHandler can say exactly what was wrong with the request.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestProblemHandler>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ListenerMatcherPolicy>());
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(settings.Tls);
        builder.Services.AddSingleton(new ServiceHttpClientFactory(settings.Tls));
        OpenApiDocuments.Add(builder.Services, settings);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService($"trustlaunch-{settings.Role}"))
            .WithMetrics(metrics => metrics.AddMeter([.. FrameworkMeters, .. settings.Meters]).AddPrometheusExporter());
        return builder;
    }

    /// <summary>Problem-details responses for unhandled exceptions and bare error status codes.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>
    /// <c>/healthz</c> (the process serves), <c>/readyz</c> (every <see cref="IReadinessCheck"/> passes, else 503
    /// naming the failing ones) and <c>/metrics</c> (Prometheus text), on every listener; each listener's
    /// <see cref="OpenApiDocuments.Route"/> on it.
    /// </summary>
    public static WebApplication MapOperations(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (IEnumerable<IReadinessCheck> checks, CancellationToken ct) =>
        {
            var failures = new List<string>();
            foreach (var check in checks)
            {
                if (await check.CheckAsync(ct).ConfigureAwait(false) is { } reason)
                    failures.Add($"{check.Name}: {reason}");
            }
            return failures.Count == 0
                ? Results.Text("ready\n")
                : Results.Problem(title: "not ready", detail: string.Join("; ", failures), statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        OpenApiDocuments.Map(app);
        return app;
    }
}
