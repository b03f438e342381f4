using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests.Web;

/// <summary>A real Kestrel host built by <see cref="ServiceHost"/> on two loopback ports: TLS (agents) and mTLS (management).</summary>
public sealed partial class ServiceHostTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private readonly NotReadyCheck _notReady = new();
    private WebApplication? _app;
    private ServiceEndpoint _tls = null!;
    private ServiceEndpoint _mtls = null!;

    public async Task InitializeAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePorts.FindPair();
            _tls = new ServiceEndpoint("agents", new IPEndPoint(IPAddress.Loopback, port), false);
            _mtls = new ServiceEndpoint("management", new IPEndPoint(IPAddress.Loopback, port + 1), true);
            var builder = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Registrar, _pki.Identity("registrar"), [_tls, _mtls], ["TrustLaunch.Test"]));
            builder.Services.AddSingleton<IReadinessCheck>(_notReady);
            var app = builder.Build();
            app.UseServiceDefaults();
            app.MapOperations();
            app.MapGroup("/v1/admin").OnEndpoint(_mtls).RequireClientRole(ServiceRoles.Tenant).MapGet("/", () => "admin\n");
            app.MapGet("/v1/open", () => "open\n").OnEndpoint(_tls);
            app.MapGet("/v1/caller", (HttpContext context) => context.Connection.ClientCertificate?.Subject ?? "anonymous").OnEndpoint(_tls);
            try
            {
                await app.StartAsync();
                _app = app;
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                await app.DisposeAsync();
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
        _pki.Dispose();
    }

    private HttpClient Client(string certificateName, ServiceEndpoint endpoint, string serverRole = ServiceRoles.Registrar) =>
        Client(certificateName, endpoint.Address.Port, serverRole);

    private HttpClient Client(string certificateName, int port, string serverRole = ServiceRoles.Registrar) =>
        new ServiceHttpClientFactory(_pki.Identity(certificateName)).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);

    /// <summary>Trusts our CA but presents no client certificate.</summary>
    private HttpClient AnonymousClient(ServiceEndpoint endpoint)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(_pki["ca.crt"]));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build((X509Certificate2)cert!);
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{endpoint.Address.Port}/") };
    }

    [Fact]
    public async Task Healthz_TlsPortWithoutClientCertificate_Ok()
    {
        using var client = AnonymousClient(_tls);
        Assert.Equal("ok\n", await client.GetStringAsync("/healthz"));
        Assert.Equal("open\n", await client.GetStringAsync("/v1/open"));
    }

    [Fact]
    public async Task MutualTlsPort_NoClientCertificate_RefusedInHandshake()
    {
        using var client = AnonymousClient(_mtls);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnyPort_CertificateOfAnotherCa_RefusedInHandshake(bool mutualTls)
    {
        var otherDir = Path.Combine(_pki.Scratch("other"), "tls");
        using (var other = CertificateAuthority.Init(otherDir, otherDir + "-ca"))
            other.Issue(ServiceRoles.Tenant, ServiceRoles.Tenant);
        // Our CA (and CRL) for the server, the foreign certificate as client certificate.
        using var identity = TlsIdentity.Load(Path.Combine(otherDir, "tenant.crt"), Path.Combine(otherDir, "tenant.key"), _pki["ca.crt"]);
        using var client = new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{(mutualTls ? _mtls : _tls).Address.Port}/"), ServiceRoles.Registrar);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
    }

    [Fact]
    public async Task TlsPort_ClientCertificateOptional_HandlerSeesOursOrNone()
    {
        using var agent = Client(ServiceRoles.Agent, _tls);
        using var anonymous = AnonymousClient(_tls);

        Assert.Contains("CN=agent", await agent.GetStringAsync("/v1/caller"));
        Assert.Equal("anonymous", await anonymous.GetStringAsync("/v1/caller"));
    }

    [Fact]
    public async Task RequireClientRole_TenantCertificate_Allowed()
    {
        using var client = Client(ServiceRoles.Tenant, _mtls);
        Assert.Equal("admin\n", await client.GetStringAsync("/v1/admin/"));
    }

    [Fact]
    public async Task RequireClientRole_AgentCertificate_ForbiddenWithReason()
    {
        using var client = Client(ServiceRoles.Agent, _mtls);
        using var response = await client.GetAsync("/v1/admin/");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("role not allowed", problem.GetProperty("title").GetString());
        Assert.Equal("client certificate role 'agent' is not allowed here: needs tenant", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task OnEndpoint_ManagementRouteOnAgentPort_NotFound()
    {
        using var client = AnonymousClient(_tls);
        using var response = await client.GetAsync("/v1/admin/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Readyz_FailingCheck_ServiceUnavailableNamingIt()
    {
        using var client = AnonymousClient(_tls);
        _notReady.Reason = "log and PCR not reconciled";
        using var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("tpm: log and PCR not reconciled", problem.GetProperty("detail").GetString());
        _notReady.Reason = null;
        Assert.Equal("ready\n", await client.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task Metrics_AfterRequests_PrometheusTextWithKestrelInstruments()
    {
        using var client = AnonymousClient(_tls);
        await client.GetStringAsync("/healthz");
        var text = "";
        for (var attempt = 0; attempt < 20 && !text.Contains("http_server_request_duration", StringComparison.Ordinal); attempt++)
        {
            text = await client.GetStringAsync("/metrics");
            await Task.Delay(100);
        }
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
        Assert.Contains("kestrel_active_connections", text);
    }

    [Fact]
    public async Task UnhandledStatus_NotFound_ProblemDetails()
    {
        using var client = AnonymousClient(_tls);
        using var response = await client.GetAsync("/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ClientFactory_PinnedCertificateDiffers_Refused()
    {
        using var identity = _pki.Identity(ServiceRoles.Tenant);
        using var other = X509Certificate2.CreateFromPem(File.ReadAllText(_pki["verifier.crt"]));
        using var pinned = new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{_mtls.Address.Port}/"), ServiceRoles.Registrar, other);
        await Assert.ThrowsAsync<HttpRequestException>(() => pinned.GetAsync("/healthz"));
        using var registrar = X509Certificate2.CreateFromPem(File.ReadAllText(_pki["registrar.crt"]));
        using var right = new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{_mtls.Address.Port}/"), ServiceRoles.Registrar, registrar);
        Assert.Equal("ok\n", await right.GetStringAsync("/healthz"));
    }

    private sealed class NotReadyCheck : IReadinessCheck
    {
        public string? Reason { get; set; }
        public string Name => "tpm";
        public Task<string?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult(Reason);
    }
}
