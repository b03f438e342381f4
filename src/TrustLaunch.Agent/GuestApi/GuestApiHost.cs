using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.GuestApi;

/// <summary>
/// CoCo's guest-component APIs for clients on the node (root): the attestation agent on
/// <see cref="AttestationAgentSocket"/> and the data hub (GetResource, UnsealSecret, ocicrypt's KeyProviderService)
/// on <see cref="DataHubSocket"/>, gRPC over HTTP/2 without TLS on unix sockets of mode 0600 in the agent's data
/// directory. CoCo serves these over ttRPC, which has no .NET implementation: clients speak gRPC with the same
/// messages. The caller is the node itself; every call goes through <see cref="WorkloadServices"/>.
/// </summary>
public sealed class GuestApiHost(WorkloadServices services, ILoggerFactory loggers, string directory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public string AttestationAgentSocket => Path.Combine(directory, "attestation-agent.sock");
    public string DataHubSocket => Path.Combine(directory, "confidential-data-hub.sock");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the guest-component APIs need unix sockets");
        PrivateDirectory.Ensure(directory);
        File.Delete(AttestationAgentSocket);
        File.Delete(DataHubSocket);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(services);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(AttestationAgentSocket, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.ListenUnixSocket(DataHubSocket, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        _app = builder.Build();
        _app.MapGrpcService<AttestationAgentApi>();
        _app.MapGrpcService<DataHubResourceApi>();
        _app.MapGrpcService<DataHubSecretApi>();
        _app.MapGrpcService<KeyProviderApi>();
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(AttestationAgentSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(DataHubSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync().ConfigureAwait(false);
    }
}
