using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TrustLaunch.Cli.Commands.Dashboard;

/// <summary>
/// The browser side of <c>trustlaunch dashboard</c>: checks that a request is for this port (Host header) and carries
/// the token (the printed URL's <c>?token=</c>, kept in a cookie), then forwards GETs under <c>/dashboard</c> and
/// <c>/v1/</c> to the verifier and streams the answer back (the event stream included). Anything else is refused
/// with a plain-text reason.
/// </summary>
public sealed class DashboardForwarder(HttpClient verifier, string token)
{
    // Headers of the verifier's answer the browser gets; hop-by-hop and connection headers are the forwarder's own.
    private static readonly string[] s_forwardedHeaders =
        ["Cache-Control", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Location", "X-Accel-Buffering"];

    private readonly byte[] _token = Encoding.ASCII.GetBytes(token);

    /// <summary>The address the browser uses (set once the port is bound).</summary>
    public Uri? Origin { get; set; }

    private string CookieName => $"trustlaunch_dashboard_{Origin?.Port}";

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (Origin is null || !IsOwnHost(request.Host))
        {
            await RefuseAsync(context, StatusCodes.Status421MisdirectedRequest, $"this port serves {Origin?.Authority}, not '{request.Host}'").ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            await RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, "the dashboard only reads: GET and HEAD").ConfigureAwait(false);
            return;
        }
        if (request.Query.TryGetValue("token", out var offered))
        {
            if (!Matches(offered.ToString()))
            {
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "wrong token: open the URL trustlaunch dashboard printed").ConfigureAwait(false);
                return;
            }
            // Strict: no other site's page can make the browser send it.
            context.Response.Cookies.Append(CookieName, token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
            context.Response.Redirect("/dashboard/");
            return;
        }
        if (!request.Cookies.TryGetValue(CookieName, out var cookie) || !Matches(cookie))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "no dashboard token: open the URL trustlaunch dashboard printed").ConfigureAwait(false);
            return;
        }
        var path = request.Path.Value ?? "/";
        if (path == "/")
        {
            context.Response.Redirect("/dashboard/");
            return;
        }
        if (!path.StartsWith("/dashboard", StringComparison.Ordinal) && !path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            await RefuseAsync(context, StatusCodes.Status404NotFound, $"'{path}' is not part of the dashboard").ConfigureAwait(false);
            return;
        }
        await ForwardAsync(context, path + request.QueryString).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext context, string pathAndQuery)
    {
        var ct = context.RequestAborted;
        using var upstream = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (context.Request.Headers.Accept is { Count: > 0 } accept)
            upstream.Headers.TryAddWithoutValidation("Accept", accept.ToArray());
        HttpResponseMessage answer;
        try
        {
            answer = await verifier.SendAsync(upstream, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            await RefuseAsync(context, StatusCodes.Status502BadGateway, $"verifier {verifier.BaseAddress} unreachable: {e.Message}").ConfigureAwait(false);
            return;
        }
        using (answer)
        {
            var response = context.Response;
            response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentType is { } type)
                response.ContentType = type.ToString();
            foreach (var name in s_forwardedHeaders)
            {
                if (answer.Headers.TryGetValues(name, out var values) || answer.Content.Headers.TryGetValues(name, out values))
                    response.Headers[name] = values.ToArray();
            }
            if (HttpMethods.IsHead(context.Request.Method))
                return;
            await using var body = await answer.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            int read;
            try
            {
                // Flushed chunk by chunk so server-sent events reach the page as they come.
                while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await response.Body.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    await response.Body.FlushAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The page went away.
            }
            catch (IOException)
            {
                // The verifier closed the stream mid-way (it stopped, or lost its store): the page sees the end and reconnects.
                context.Abort();
            }
        }
    }

    private bool IsOwnHost(HostString host) =>
        host.HasValue && host.Port == Origin!.Port
        && (string.Equals(host.Host, Origin.Host, StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))
            || string.Equals(host.Host, "localhost", StringComparison.OrdinalIgnoreCase));

    private bool Matches(string offered) => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(offered), _token);

    private static Task RefuseAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync($"trustlaunch dashboard: {reason}\n", context.RequestAborted);
    }
}
