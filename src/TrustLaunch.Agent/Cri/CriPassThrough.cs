using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// Forwards a gRPC call the endpoint does not intercept to containerd byte for byte: the HTTP/2 request with its
/// headers (so <c>grpc-timeout</c>, the caller's deadline, reaches containerd unchanged) and its body as it streams, and
/// containerd's answer with its headers, body and trailers (its gRPC status). Nothing is parsed, so fields and methods
/// newer than the vendored proto survive, and the streaming URLs of Exec/Attach/PortForward come back as containerd
/// made them.
/// </summary>
public sealed class CriPassThrough(ContainerdConnection containerd)
{
    // Connection-specific headers HTTP/2 forbids, and those the client stack sets itself.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "content-length",
    };

    public async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method) || request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        // The body is containerd's to limit (kubelet's 16 MiB), not Kestrel's default.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;

        using var forward = new HttpRequestMessage(HttpMethod.Post, new Uri(ContainerdConnection.BaseAddress, request.Path.ToUriComponent()))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StreamContent(request.Body),
        };
        foreach (var (name, values) in request.Headers)
        {
            if (name.StartsWith(':') || NotForwarded.Contains(name))
                continue;
            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                forward.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }

        HttpResponseMessage answer;
        try
        {
            answer = await containerd.Raw.SendAsync(forward, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            // What a gRPC client says when it cannot reach a server: kubelet retries Unavailable.
            Unavailable(context.Response, $"TrustLaunch CRI endpoint: containerd at {containerd.SocketPath} is unreachable: {e.Message}");
            return;
        }
        using (answer)
            await RelayAsync(answer, context.Response, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RelayAsync(HttpResponseMessage answer, HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = (int)answer.StatusCode;
        var trailersOnly = answer.Headers.Contains("grpc-status");
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (NotForwarded.Contains(name))
                continue;
            // A trailers-only answer (an error) is sent on as an empty body and trailers: Kestrel cannot end a stream on its headers.
            if (trailersOnly && name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) && name is not "grpc-encoding" and not "grpc-accept-encoding")
                response.AppendTrailer(name, values.ToArray());
            else
                response.Headers[name] = values.ToArray();
        }

        await using (var body = await answer.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                // Server-streaming answers (container events) must reach the caller as they come.
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var (name, values) in answer.TrailingHeaders)
            response.AppendTrailer(name, values.ToArray());
    }

    private static void Unavailable(HttpResponse response, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.AppendTrailer("grpc-status", ((int)Grpc.Core.StatusCode.Unavailable).ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.AppendTrailer("grpc-message", Uri.EscapeDataString(message));
    }
}
