using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Agent.Configuration;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Service;

/// <summary>
/// <c>serve agent</c>'s app (<see cref="AgentHost.BuildAsync"/>) in this process on a private swtpm, so a test can
/// read the routes it mapped. Its registrar URL names a closed port: the agent keeps retrying registration, which the
/// tests here do not need.
/// </summary>
public sealed class InProcessAgent : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-agent-app-").FullName;
    private readonly SwtpmFixture _swtpm = new();
    private readonly List<TlsIdentity> _identities = [];
    private WebApplication? _app;

    public WebApplication App => _app ?? throw new InvalidOperationException("the agent is not started");
    public ServiceEndpoint Attestation { get; private set; } = null!;
    public string SocketPath => Path.Combine(_directory, "agent", "agent.sock");
    private string TlsDirectory => Path.Combine(_directory, "tls");

    public async Task InitializeAsync()
    {
        await _swtpm.InitializeAsync();
        TestCa.Create(TlsDirectory);
        var port = FreePorts.FindPair();
        var closed = FreePorts.FindPair();
        var options = new AgentOptions
        {
            AgentId = Guid.NewGuid().ToString(),
            DataDirectory = Path.Combine(_directory, "agent"),
            Tpm = _swtpm.Tcti,
            Registrar = $"https://127.0.0.1:{closed}",
            Listen = $"127.0.0.1:{port}",
        };
        _app = await AgentHost.BuildAsync(options, Identity(ServiceRoles.Agent), CancellationToken.None);
        await _app.StartAsync();
        Attestation = _app.Services.GetRequiredService<ServiceHostSettings>().Endpoints.Single();
    }

    /// <summary>An mTLS client of the attestation listener presenting the test CA's certificate of <paramref name="role"/>.</summary>
    public HttpClient Client(string role) =>
        new ServiceHttpClientFactory(Identity(role)).Create(new Uri($"https://127.0.0.1:{Attestation.Address.Port}/"), ServiceRoles.Agent);

    public HttpClient LocalClient() => UnixSocketHttp.Create(SocketPath);

    private TlsIdentity Identity(string role)
    {
        var identity = TlsIdentity.FromDirectory(TlsDirectory, role);
        _identities.Add(identity);
        return identity;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        await _swtpm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
