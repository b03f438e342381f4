using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace TrustLaunch.Hosting.Web;

/// <summary>
/// One generated OpenAPI document per listener, served at <see cref="Route"/> on that listener (so behind its TLS or
/// mutual TLS, as the API it documents): the routes bound to the listener (<see cref="ClientRoles.OnEndpoint"/>) and
/// those that answer on every listener (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>, this document). The unix
/// socket (<see cref="ServiceHostSettings.UnixSocket"/>) has its own, for the routes bound with
/// <see cref="ClientRoles.OnUnixSocket"/>; a listener argument of null names it.
/// </summary>
public static class OpenApiDocuments
{
    public const string Route = "/openapi.json";

    /// <summary>Mapped by the Prometheus exporter as a bare request delegate, which the API explorer cannot describe.</summary>
    private const string MetricsRoute = "/metrics";

    /// <summary>The unix socket's document name (a TCP listener's is its name in lower case).</summary>
    private const string UnixSocketDocument = "unix-socket";

    internal static void Add(IServiceCollection services, ServiceHostSettings settings)
    {
        foreach (var endpoint in Listeners(settings))
        {
            services.AddOpenApi(DocumentName(endpoint), o =>
            {
                o.ShouldInclude = description => AnswersOn(description.ActionDescriptor.EndpointMetadata.OfType<ListenerMetadata>().FirstOrDefault(), endpoint);
                o.AddDocumentTransformer((document, _, _) =>
                {
                    document.Info = new OpenApiInfo { Title = $"trustlaunch {settings.Role}: {endpoint?.Name ?? UnixSocketDocument} listener", Version = "v1" };
                    document.Paths ??= [];
                    document.Paths[MetricsRoute] = new OpenApiPathItem
                    {
                        Operations = new Dictionary<HttpMethod, OpenApiOperation>
                        {
                            [HttpMethod.Get] = new()
                            {
                                Summary = "Prometheus metrics",
                                Responses = new OpenApiResponses
                                {
                                    ["200"] = new OpenApiResponse { Description = "OK", Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() } },
                                },
                            },
                        },
                    };
                    return Task.CompletedTask;
                });
            });
        }
    }

    internal static void Map(WebApplication app)
    {
        foreach (var endpoint in Listeners(app.Services.GetRequiredService<ServiceHostSettings>()))
        {
            var name = DocumentName(endpoint);
            var route = app.MapGet(Route, async (HttpContext context, EndpointDataSource routes) =>
            {
                // The unix socket has no TLS, so no client certificate: its file mode admits the callers.
                if (endpoint is not null && ListenerRoles(routes, endpoint) is { } roles && ClientRoles.Refusal(context, roles) is { } refusal)
                    return refusal;
                var document = await context.RequestServices.GetRequiredKeyedService<IOpenApiDocumentProvider>(name)
                    .GetOpenApiDocumentAsync(context.RequestAborted).ConfigureAwait(false);
                // Into a string first: the OpenAPI writer writes synchronously, which Kestrel's response body refuses.
                return Results.Text(await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, context.RequestAborted).ConfigureAwait(false),
                    "application/json; charset=utf-8");
            });
            if (endpoint is null)
                route.OnUnixSocket();
            else
                route.OnEndpoint(endpoint);
        }
    }

    /// <summary>The TCP listeners, then null for the unix socket when there is one.</summary>
    private static IEnumerable<ServiceEndpoint?> Listeners(ServiceHostSettings settings) =>
        settings.UnixSocket is null ? settings.Endpoints : settings.Endpoints.Append<ServiceEndpoint?>(null);

    /// <summary>
    /// The roles a client needs for <paramref name="listener"/>'s document: those admitted by the routes bound to it,
    /// together; null (any client the listener's TLS accepts) when one of them requires no role.
    /// </summary>
    private static string[]? ListenerRoles(EndpointDataSource routes, ServiceEndpoint listener)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var route in routes.Endpoints.Where(e => e.Metadata.GetMetadata<ListenerMetadata>()?.Endpoint == listener && !IsDocument(e)))
        {
            if (route.Metadata.GetMetadata<ClientRoleMetadata>() is not { } admitted)
                return null;
            roles.UnionWith(admitted.Roles);
        }
        return roles.Count == 0 ? null : [.. roles.Order(StringComparer.Ordinal)];
    }

    private static bool IsDocument(Endpoint route) => route is RouteEndpoint { RoutePattern.RawText: Route };

    /// <summary>Whether <paramref name="route"/> answers on <paramref name="listener"/> (null: the unix socket): it is
    /// bound to it, or to no listener.</summary>
    public static bool AnswersOn(Endpoint route, ServiceEndpoint? listener) =>
        AnswersOn((route ?? throw new ArgumentNullException(nameof(route))).Metadata.GetMetadata<ListenerMetadata>(), listener);

    private static bool AnswersOn(ListenerMetadata? metadata, ServiceEndpoint? listener) => metadata is null || metadata.Endpoint == listener;

    private static string DocumentName(ServiceEndpoint? endpoint) => endpoint?.Name.ToLowerInvariant() ?? UnixSocketDocument;
}
