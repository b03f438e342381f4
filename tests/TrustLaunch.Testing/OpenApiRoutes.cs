using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// Checks a listener's <c>/openapi.json</c> against the routes the running app has mapped on it: every route that
/// answers there is documented with its methods, and nothing else is. A route mapped for every method (the
/// Prometheus exporter's <c>/metrics</c>) counts as GET.
/// </summary>
public static partial class OpenApiRoutes
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    /// <summary>Fetches the document through <paramref name="client"/> (a client of <paramref name="listener"/>; null: of
    /// the unix socket) and compares.</summary>
    public static async Task AssertDocumentsRoutesAsync(WebApplication app, ServiceEndpoint? listener, HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(client);
        using var response = await client.GetAsync(new Uri(OpenApiDocuments.Route.TrimStart('/'), UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{OpenApiDocuments.Route} on {listener?.Name ?? "the unix socket"}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)).Select(o => $"{o.Name.ToUpperInvariant()} {Normalize(path.Name)}"))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(MappedOn(app, listener), documented);
        Assert.StartsWith("3.1", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
    }

    /// <summary>"METHOD /path" of each route that answers on <paramref name="listener"/> (null: the unix socket), sorted.</summary>
    public static IReadOnlyList<string> MappedOn(WebApplication app, ServiceEndpoint? listener)
    {
        ArgumentNullException.ThrowIfNull(app);
        return [.. app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => OpenApiDocuments.AnswersOn(e, listener))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => $"{m} {Normalize(e.RoutePattern.RawText ?? "")}"))
            .Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>A leading slash, no trailing one, parameters without constraints: <c>/v1/agents/{id}</c>.</summary>
    private static string Normalize(string path) => "/" + Constraint().Replace(path, "}").Trim('/');

    [GeneratedRegex(@"[:?][^}]*}")]
    private static partial Regex Constraint();
}
