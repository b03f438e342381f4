using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Dashboard;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Apis;

/// <summary>
/// The fleet dashboard on the tenant listener (mutual TLS, tenant role, like the tenant API it reads): the page and its
/// script and style, embedded in the binary (<c>/dashboard/</c>), and <c>/v1/events</c>, a server-sent event stream
/// that sends the agent list (<c>event: agents</c>) when the stream opens and whenever it changes in the store, so
/// every verifier instance on a shared store shows the same fleet.
/// </summary>
public static class DashboardApi
{
    /// <summary>How often an open stream reads the agent list; at most this behind the store.</summary>
    public static readonly TimeSpan StreamCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>A comment line this often keeps proxies from closing an idle stream.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>Streams open at once; each reads the agent list every <see cref="StreamCheckInterval"/>.</summary>
    public const int MaxStreams = 32;

    // Scripts and styles only from the page's origin, no inline code, no framing: data from nodes is never markup.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static int s_streams;

    public static void MapDashboard(this IEndpointRouteBuilder app, ServiceEndpoint endpoint)
    {
        var tenant = app.MapGroup("").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant);
        // Routing matches /dashboard and /dashboard/ alike; the page names its files by absolute path.
        tenant.MapGet("/dashboard/", (HttpContext context) => Asset(context, "index.html"));
        tenant.MapGet("/dashboard/{file}", (string file, HttpContext context) => Asset(context, file));
        tenant.MapGet("/v1/events", StreamAsync);
    }

    private static IResult Asset(HttpContext context, string file)
    {
        if (DashboardAssets.Find(file) is not { } asset)
            return Results.Problem(title: "no such file", detail: $"the dashboard has no file '{file}'", statusCode: StatusCodes.Status404NotFound);
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static async Task<IResult> StreamAsync(HttpContext context, IVerifierStore store, TimeProvider time)
    {
        var ct = context.RequestAborted;
        if (Interlocked.Increment(ref s_streams) > MaxStreams)
        {
            Interlocked.Decrement(ref s_streams);
            return Results.Problem(title: "too many event streams", detail: $"at most {MaxStreams} event streams are open at once",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        try
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            string? sent = null;
            var quietSince = time.GetTimestamp();
            while (!ct.IsCancellationRequested)
            {
                // A store that cannot be read ends the stream (the page shows it lost and reconnects): never a stale list.
                var agents = await store.ListAgentsAsync(ct).ConfigureAwait(false);
                var json = JsonSerializer.Serialize([.. agents.Select(a => a.ToStatus())], ContractsJsonContext.Default.IReadOnlyListAgentStatus);
                if (!StringComparer.Ordinal.Equals(json, sent))
                {
                    await WriteAsync(context, $"event: agents\ndata: {json}\n\n", ct).ConfigureAwait(false);
                    sent = json;
                    quietSince = time.GetTimestamp();
                }
                else if (time.GetElapsedTime(quietSince) >= KeepAliveInterval)
                {
                    await WriteAsync(context, ": keep-alive\n\n", ct).ConfigureAwait(false);
                    quietSince = time.GetTimestamp();
                }
                await Task.Delay(StreamCheckInterval, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away.
        }
        finally
        {
            Interlocked.Decrement(ref s_streams);
        }
        return Results.Empty;
    }

    private static async Task WriteAsync(HttpContext context, string text, CancellationToken ct)
    {
        await context.Response.WriteAsync(text, ct).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
