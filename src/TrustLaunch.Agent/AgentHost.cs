using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Agent.Apis;
using TrustLaunch.Agent.Configuration;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Agent.Push;
using TrustLaunch.Agent.Registration;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Agent;

/// <summary>
/// Builds and starts <c>trustlaunch serve agent</c>: the mTLS attestation listener, the launcher's unix socket
/// (mode 0600), the TPM and launch log opened and reconciled before either accepts a request, registration, and in
/// push mode the loop that posts evidence to the verifier; with <see cref="AgentOptions.Cri"/>, the CRI endpoint; with
/// <see cref="AgentOptions.Kbs"/>, the key broker's attester behind <c>POST /v1/kbs/resource</c>.
/// </summary>
public static class AgentHost
{
    public const string Role = ServiceRoles.Agent;

    /// <summary>
    /// Test-only fault injection: with <c>TRUSTLAUNCH_AGENT_FAULT=kill-after-log-write</c> the agent SIGKILLs itself
    /// right after a measurement is durable in the log and before the PCR is extended, which is the crash the log's
    /// reconciliation exists for. Nothing else reads this variable.
    /// </summary>
    public const string FaultVariable = "TRUSTLAUNCH_AGENT_FAULT";
    public const string KillAfterLogWrite = "kill-after-log-write";

    /// <summary>Validates the options, opens the TPM and the log, and builds the app; start it to listen.</summary>
    public static async Task<WebApplication> BuildAsync(AgentOptions options, TlsIdentity tls, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the agent needs unix sockets and a Linux TPM device");
        if (options.Validate() is { Count: > 0 } errors)
            throw new ArgumentException(string.Join("; ", errors));
        PrivateFiles.CreateDirectory(options.DataDirectory);
        var socketPath = options.EffectiveSocketPath;
        File.Delete(socketPath);

        var endpoint = new ServiceEndpoint("attestation", ServiceEndpoint.ParseAddress(options.Listen), RequireClientCertificate: true);
        var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(Role, tls, [endpoint], []) { UnixSocket = socketPath });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<AgentRuntime>();
        builder.Services.AddSingleton<TrustLaunch.Agent.Launcher.NodeLauncher>();
        builder.Services.AddSingleton(services => new RegistrarClient(
            services.GetRequiredService<ServiceHttpClientFactory>().Create(new Uri(options.Registrar), ServiceRoles.Registrar)));
        builder.Services.AddSingleton<RegistrationService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RegistrationService>());
        builder.Services.AddSingleton<IReadinessCheck>(services => services.GetRequiredService<RegistrationService>());
        if (options.PushVerifier is { } pushVerifier)
        {
            builder.Services.AddSingleton(services => new PushAttestationClient(
                services.GetRequiredService<ServiceHttpClientFactory>().Create(new Uri(pushVerifier), ServiceRoles.Verifier)));
            builder.Services.AddHostedService<PushAttestationService>();
        }

        if (options.Kbs is { } kbs)
        {
            builder.Services.AddSingleton(services =>
            {
                var runtime = services.GetRequiredService<AgentRuntime>();
                var http = services.GetRequiredService<ServiceHttpClientFactory>().Create(new Uri(kbs), ServiceRoles.Kbs);
                return new NodeKeyBroker(new KbsClient(http, new Uri(kbs), new AgentTeeEvidence(runtime)), runtime,
                    services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<NodeKeyBroker>>());
            });
            if (options.SecretTrust is { } secretTrust)
            {
                var signers = TrustLaunch.Kbs.Secrets.SealedSecretSigners.Load(secretTrust);
                builder.Services.AddSingleton(services => new NodeSecrets(signers, services.GetRequiredService<NodeKeyBroker>(),
                    services.GetRequiredService<AgentRuntime>(), services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<NodeSecrets>>()));
            }
            builder.Services.AddSingleton(services => new WorkloadServices(services.GetRequiredService<AgentRuntime>(), services.GetRequiredService<NodeKeyBroker>(),
                services.GetService<NodeSecrets>(), services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WorkloadServices>>()));
            builder.Services.AddSingleton(services => new WorkloadGateway(services.GetRequiredService<WorkloadServices>(),
                services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), Path.Combine(options.DataDirectory, "gateway")));
            builder.Services.AddHostedService(services => services.GetRequiredService<WorkloadGateway>());
            builder.Services.AddHostedService(services => new TrustLaunch.Agent.GuestApi.GuestApiHost(services.GetRequiredService<WorkloadServices>(),
                services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), Path.Combine(options.DataDirectory, "guest")));
        }

        if (options.Cri is { } cri)
        {
            builder.Services.AddSingleton(services => new CriHostedService(cri, services.GetRequiredService<AgentRuntime>(),
                services.GetRequiredService<ServiceHttpClientFactory>(), services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(),
                services.GetService<NodeKeyBroker>(), services.GetService<NodeSecrets>(), services.GetService<WorkloadGateway>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<CriHostedService>());
            // trustlaunch ps lists the pods' containers beside those of trustlaunch run.
            builder.Services.AddSingleton<TrustLaunch.Agent.Launcher.INodeContainerSource>(services => services.GetRequiredService<CriHostedService>());
        }

        var app = builder.Build();
        try
        {
            var runtime = app.Services.GetRequiredService<AgentRuntime>();
            await runtime.StartAsync(cancellationToken).ConfigureAwait(false);
            await app.Services.GetRequiredService<TrustLaunch.Agent.Launcher.NodeLauncher>().RecoverAllAsync(cancellationToken).ConfigureAwait(false);
            if (Environment.GetEnvironmentVariable(FaultVariable) == KillAfterLogWrite)
                runtime.Log.AfterDurableWrite = () => Process.GetCurrentProcess().Kill();
            app.UseServiceDefaults();
            app.MapOperations();
            app.MapAttestationApi(endpoint);
            app.MapLocalApi();
            // The data directory is 0700 already; 0600 on the socket keeps it private even when --socket is elsewhere.
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            });
            return app;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
