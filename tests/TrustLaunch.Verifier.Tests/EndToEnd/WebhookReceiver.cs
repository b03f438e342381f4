using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>A loopback HTTP listener that records every POSTed body and answers 204.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver()
    {
        // Port 0: the kernel picks a free port while binding, so nothing can take it in between.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/hook/", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            Bodies.Enqueue(await reader.ReadToEndAsync());
            return Results.NoContent();
        });
    }

    public string Url { get; private set; } = "";
    public ConcurrentQueue<string> Bodies { get; } = new();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver._app.StartAsync();
        receiver.Url = $"http://127.0.0.1:{new Uri(receiver._app.Urls.Single()).Port}/hook/";
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
