using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// An attacker on the path between an agent and its broker that holds a certificate the agent trusts (the broker's
/// own): it forwards every request as it is and, while <see cref="TamperMember"/> is set, changes that member of the
/// resource JWEs it passes back (<see cref="NodeKbsClientTests.Tamper"/>).
/// </summary>
public sealed class EndToEndTamperingProxy : IAsyncDisposable
{
    private static readonly string[] ForwardedRequestHeaders = ["Cookie", "Authorization"];

    private readonly WebApplication _app;
    private readonly HttpClient _broker;

    private EndToEndTamperingProxy(WebApplication app, HttpClient broker, int port)
    {
        _app = app;
        _broker = broker;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The JWE member changed in resource answers (<c>ciphertext</c>, <c>tag</c>, …); null: pass through.</summary>
    public volatile string? TamperMember;

    public static async Task<EndToEndTamperingProxy> StartAsync(string tlsDirectory, int port, int brokerPort)
    {
        var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(tlsDirectory, ServiceRoles.Kbs + ".crt"), Path.Combine(tlsDirectory, ServiceRoles.Kbs + ".key"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        // No cookie jar: each forwarded request carries its own agent's session cookie and nothing else.
        var broker = new ServiceHttpClientFactory(TlsIdentity.FromDirectory(tlsDirectory, ServiceRoles.Kbs))
            .Create(new Uri($"https://127.0.0.1:{brokerPort}/"), ServiceRoles.Kbs);
        var proxy = new EndToEndTamperingProxy(app, broker, port);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        foreach (var name in ForwardedRequestHeaders)
        {
            if (context.Request.Headers.TryGetValue(name, out var values))
                request.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            request.Content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } type)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
        }
        using var response = await _broker.SendAsync(request);
        var answer = await response.Content.ReadAsByteArrayAsync();
        if (TamperMember is { } member && response.IsSuccessStatusCode && context.Request.Path.StartsWithSegments("/kbs/v0/resource"))
            answer = Encoding.UTF8.GetBytes(NodeKbsClientTests.Tamper(Encoding.UTF8.GetString(answer), member));
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
            context.Response.Headers.SetCookie = cookies.ToArray();
        if (response.Content.Headers.ContentType is { } contentType)
            context.Response.ContentType = contentType.ToString();
        await context.Response.Body.WriteAsync(answer);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _broker.Dispose();
    }
}
