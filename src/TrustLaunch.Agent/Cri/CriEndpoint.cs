using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// The CRI v1 endpoint kubelet talks to (<c>--container-runtime-endpoint</c> and <c>--image-service-endpoint</c>):
/// HTTP/2 without TLS on a unix socket of mode 0600, 16 MiB messages, the intercepted methods through
/// <see cref="CriInterception"/>, every other one forwarded to containerd as bytes, and a poll that measures the
/// exits of the containers it created.
/// </summary>
public sealed class CriEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ContainerdConnection _containerd;
    private readonly CriRegistries _registries;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private Task _exitPoll = Task.CompletedTask;

    private CriEndpoint(WebApplication app, ContainerdConnection containerd, CriRegistries registries, CriInterception interception, ILogger logger)
    {
        _app = app;
        _containerd = containerd;
        _registries = registries;
        Interception = interception;
        _logger = logger;
    }

    public CriInterception Interception { get; }

    /// <param name="measuredLines">The launch log of this boot so far (<c>DOMAIN OPERATION CONTENT</c> lines): the containers an earlier run created are taken up.</param>
    public static async Task<CriEndpoint> StartAsync(CriOptions options, IImageJudge judge, IMeasurer measurer, ILoggerFactory loggerFactory,
        IEnumerable<string> measuredLines, RegistryClientOptions? registryOptions = null, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("the CRI endpoint needs Linux (unix sockets, overlay mounts)");
        var logger = loggerFactory.CreateLogger<CriEndpoint>();
        var containerd = new ContainerdConnection(options.BackendSocket);
        var registries = new CriRegistries(options.Mirrors, registryOptions);
        var interception = new CriInterception(containerd, registries, judge, measurer, logger, options.VerificationLifetime)
        {
            SealedSecrets = options.SealedSecrets,
            KeyBroker = options.KeyBroker,
            Gateway = options.Gateway,
        };
        interception.Resume(measuredLines);

        Directory.CreateDirectory(Path.GetDirectoryName(options.ListenSocket)!);
        File.Delete(options.ListenSocket);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(options.ListenSocket, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = CriOptions.MaxMessageBytes;
            grpc.MaxSendMessageSize = CriOptions.MaxMessageBytes;
        });
        builder.Services.AddSingleton(interception);
        builder.Services.AddSingleton<CriRuntimeHandlers>();
        builder.Services.AddSingleton<CriImageHandlers>();
        builder.Services.AddSingleton<CriGrpcService>();
        builder.Services.AddSingleton<IServiceMethodProvider<CriGrpcService>, CriMethods>();
        var passThrough = new CriPassThrough(containerd);

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (CriMethods.Intercepted.Contains(context.Request.Path.Value ?? ""))
                await next(context).ConfigureAwait(false);
            else
                await passThrough.ForwardAsync(context).ConfigureAwait(false);
        });
        app.MapGrpcService<CriGrpcService>();
        var endpoint = new CriEndpoint(app, containerd, registries, interception, logger);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            // kubelet runs as root; nobody else may drive containers through the agent.
            File.SetUnixFileMode(options.ListenSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        endpoint._exitPoll = endpoint.PollExitsAsync(options.ExitPollInterval, endpoint._stopping.Token);
        logger.LogInformation("CRI endpoint on {Listen}, forwarding to containerd at {Backend}", options.ListenSocket, options.BackendSocket);
        return endpoint;
    }

    private async Task PollExitsAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await Interception.MeasureExitsAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogWarning(e, "Could not check containers for exits: {Reason}", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _exitPoll.ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _registries.Dispose();
        _containerd.Dispose();
        _stopping.Dispose();
    }
}
