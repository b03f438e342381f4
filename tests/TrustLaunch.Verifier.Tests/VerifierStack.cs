using System.Net;
using Microsoft.AspNetCore.Builder;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Registrar;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests;

/// <summary>
/// A CA with a certificate per role, a registrar and a verifier on loopback ports (real Kestrel, TLS and mTLS), in
/// this process, with their data in a scratch directory. The verifier polls every <see cref="QuoteInterval"/>.
/// </summary>
public sealed class VerifierStack : IAsyncLifetime
{
    public static readonly TimeSpan QuoteInterval = TimeSpan.FromMilliseconds(300);

    private readonly List<TlsIdentity> _identities = [];
    private WebApplication? _registrar;
    private WebApplication? _verifier;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-verifier-stack-").FullName;
    public string PkiDirectory => Path.Combine(Directory, "pki");
    public ServiceEndpoint RegistrarAgents { get; private set; } = null!;
    public ServiceEndpoint RegistrarManagement { get; private set; } = null!;
    public ServiceEndpoint VerifierAgents { get; private set; } = null!;
    public ServiceEndpoint VerifierTenants { get; private set; } = null!;
    public List<string> WebhookUrls { get; } = [];
    public WebApplication RegistrarHost => _registrar ?? throw new InvalidOperationException("the registrar is not running");
    public WebApplication VerifierHost => _verifier ?? throw new InvalidOperationException("the verifier is not running");

    /// <summary>When set before <see cref="InitializeAsync"/>, the registrar requires EK certificates chaining to this bundle.</summary>
    public CaBundle? EkCa { get; init; }

    public async Task InitializeAsync()
    {
        TestCa.Create(PkiDirectory);
        RegistrarAgents = await StartAsync("agents", false, "management", async (a, b) =>
        {
            RegistrarManagement = b;
            _registrar = await RegistrarApp.BuildAsync(new RegistrarOptions(Path.Combine(Directory, "registrar"), a, b, Identity(ServiceRoles.Registrar), EkCa, EkCa is not null));
            return _registrar;
        });
    }

    /// <summary>Starts the verifier (again, on the same data directory after <see cref="StopVerifierAsync"/>).</summary>
    public async Task StartVerifierAsync()
    {
        VerifierAgents = await StartAsync("agents", false, "tenants", async (a, b) =>
        {
            VerifierTenants = b;
            var options = new VerifierOptions(Path.Combine(Directory, "verifier"), a, b, Identity(ServiceRoles.Verifier),
                new Uri($"https://127.0.0.1:{RegistrarManagement.Address.Port}/"), QuoteInterval, 4, 3, WebhookUrls)
            {
                AgentTimeout = TimeSpan.FromSeconds(3),
                MaxBackoff = TimeSpan.FromSeconds(1),
            };
            _verifier = await VerifierApp.BuildAsync(options);
            return _verifier;
        });
    }

    public async Task StopVerifierAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        _verifier = null;
    }

    public TlsIdentity Identity(string name)
    {
        var identity = TlsIdentity.FromDirectory(PkiDirectory, name);
        _identities.Add(identity);
        return identity;
    }

    public VerifierClient Tenant(string certificate = ServiceRoles.Tenant) =>
        new(new ServiceHttpClientFactory(Identity(certificate)).Create(new Uri($"https://127.0.0.1:{VerifierTenants.Address.Port}/"), ServiceRoles.Verifier));

    public HttpClient Client(string certificate, ServiceEndpoint endpoint) =>
        new ServiceHttpClientFactory(Identity(certificate)).Create(new Uri($"https://127.0.0.1:{endpoint.Address.Port}/"),
            endpoint == RegistrarAgents || endpoint == RegistrarManagement ? ServiceRoles.Registrar : ServiceRoles.Verifier);

    private static async Task<ServiceEndpoint> StartAsync(string first, bool firstMutual, string second,
        Func<ServiceEndpoint, ServiceEndpoint, Task<WebApplication>> build)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePorts.FindPair();
            var a = new ServiceEndpoint(first, new IPEndPoint(IPAddress.Loopback, port), firstMutual);
            var b = new ServiceEndpoint(second, new IPEndPoint(IPAddress.Loopback, port + 1), true);
            var app = await build(a, b);
            try
            {
                await app.StartAsync();
                return a;
            }
            catch (IOException) when (attempt < 5)
            {
                await app.DisposeAsync();
            }
        }
    }

    public async Task DisposeAsync()
    {
        await StopVerifierAsync();
        if (_registrar is not null)
            await _registrar.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
