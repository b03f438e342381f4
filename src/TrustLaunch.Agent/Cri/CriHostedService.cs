using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Agent.Cri;

/// <summary>Runs the CRI endpoint inside <c>serve agent</c>, measuring into the agent's own launch log (opened before hosted services start).
/// Sealed env values and mounted files are opened through <paramref name="secrets"/> (null without <c>--kbs</c> and <c>--secret-trust</c>: refused);
/// each container gets a workload gateway from <paramref name="gateway"/> (null without <c>--kbs</c>: none).</summary>
internal sealed class CriHostedService(CriSettings settings, AgentRuntime agent, ServiceHttpClientFactory clients, ILoggerFactory loggerFactory,
    TrustLaunch.Agent.Kbs.NodeKeyBroker? broker = null, TrustLaunch.Agent.Kbs.NodeSecrets? secrets = null, TrustLaunch.Agent.Gateway.WorkloadGateway? gateway = null)
    : IHostedService, INodeContainerSource, IAsyncDisposable
{
    public string Source => NodeContainer.CriSource;

    /// <summary>The pods' containers, through containerd; none before the endpoint has started.</summary>
    public Task<IReadOnlyList<NodeContainer>> ListAsync(CancellationToken cancellationToken) =>
        _endpoint is { } endpoint ? endpoint.Interception.ListContainersAsync(cancellationToken) : Task.FromResult<IReadOnlyList<NodeContainer>>([]);

    private CriEndpoint? _endpoint;
    private HttpClient? _verifier;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Verifier is { } verifier)
            _verifier = clients.Create(new Uri(verifier), ServiceRoles.Verifier);
        var judge = ImageJudges.Create(new ImageJudgeOptions(agent.Options.AgentId)
        {
            Trust = settings.Trust,
            TrustPolicy = settings.TrustPolicy,
            Verifier = _verifier,
            SignaturePolicy = settings.SignaturePolicy,
            RegistriesD = settings.RegistriesD,
        });
        var options = new CriOptions
        {
            ListenSocket = CriOptions.SocketPath(settings.Listen, "--cri-listen"),
            BackendSocket = CriOptions.SocketPath(settings.Backend, "--cri-backend"),
            Mirrors = CriOptions.ParseMirrors(settings.Mirrors),
            SealedSecrets = new CriSealedSecrets(Path.Combine(agent.Options.DataDirectory, "cri-secrets"), secrets is null ? null : secrets.UnsealAsync,
                TrustLaunch.Agent.Kbs.NodeSecrets.NotConfiguredReason(broker is not null)),
            KeyBroker = broker,
            Gateway = gateway,
        };
        var sourceLogger = loggerFactory.CreateLogger<CriRegistries>();
        _endpoint = await CriEndpoint.StartAsync(options, judge, new LaunchLogMeasurer(agent.Log), loggerFactory,
            agent.Log.ReadFrom(0).Select(r => r.Content), settings.RegistryOptions() with
            {
                SourceRefused = reason => sourceLogger.LogWarning("Registry source given up: {Reason}", reason),
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_endpoint is { } endpoint)
        {
            _endpoint = null;
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }
        _verifier?.Dispose();
        _verifier = null;
    }
}
