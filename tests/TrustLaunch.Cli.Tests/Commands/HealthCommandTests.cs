using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch health</c>, what the images' HEALTHCHECK runs, against a real mutual-TLS service host with a
/// registrar certificate: 200 is healthy; another status, a server of another role or no server at all is exit 1
/// with the reason.
/// </summary>
public sealed class HealthCommandTests : IAsyncLifetime
{
    private readonly string _tls = Directory.CreateTempSubdirectory("trustlaunch-health-").FullName;
    private readonly List<WebApplication> _servers = [];
    private readonly List<TlsIdentity> _identities = [];

    public Task InitializeAsync()
    {
        TestCa.Create(_tls, [ServiceRoles.Registrar, ServiceRoles.Verifier]);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AHealthyServiceIsExitZero()
    {
        var port = await StartAsync(app => app.MapOperations());
        var result = await CliHarness.RunAsync("health", $"https://127.0.0.1:{port}", "--role", "registrar", "--tls-dir", _tls);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"registrar https://127.0.0.1:{port}/ healthy\n", result.Stdout);
    }

    [Fact]
    public async Task AnotherStatusIsRefused()
    {
        var port = await StartAsync(app => app.MapGet("/healthz", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable)));
        var result = await CliHarness.RunAsync("health", $"https://127.0.0.1:{port}", "--role", "registrar", "--tls-dir", _tls);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: registrar https://127.0.0.1:{port}/ unhealthy: /healthz answered 503 Service Unavailable\n", result.Stderr);
    }

    [Fact]
    public async Task AServerOfAnotherRoleIsRefused()
    {
        var port = await StartAsync(app => app.MapOperations());
        var result = await CliHarness.RunAsync("health", $"https://127.0.0.1:{port}", "--role", "verifier", "--tls-dir", _tls);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: verifier https://127.0.0.1:{port}/ unreachable: server 127.0.0.1:{port} refused: the server certificate "
            + "'CN=registrar, OU=registrar, O=TrustLaunch' has role 'registrar', expected role 'verifier'\n", result.Stderr);
    }

    [Fact]
    public async Task NoServerIsRefused()
    {
        var port = FreePorts.FindPair();
        var result = await CliHarness.RunAsync("health", $"https://127.0.0.1:{port}", "--role", "registrar", "--tls-dir", _tls);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: registrar https://127.0.0.1:{port}/ unreachable: Connection refused (127.0.0.1:{port})\n", result.Stderr);
    }

    [Fact]
    public async Task APlainHttpUrlIsAUsageError()
    {
        var result = await CliHarness.RunAsync("health", "http://127.0.0.1:8890", "--role", "registrar", "--tls-dir", _tls);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: URL 'http://127.0.0.1:8890' is not an https:// URL\n", result.Stderr);
    }

    /// <summary>A registrar-certificate service host requiring client certificates, with the routes given; its port.</summary>
    private async Task<int> StartAsync(Action<WebApplication> routes)
    {
        var port = FreePorts.FindPair();
        var identity = TlsIdentity.FromDirectory(_tls, ServiceRoles.Registrar);
        _identities.Add(identity);
        var endpoint = new ServiceEndpoint("test", ServiceEndpoint.ParseAddress($"127.0.0.1:{port}"), RequireClientCertificate: true);
        var app = ServiceHost.CreateBuilder(new ServiceHostSettings(ServiceRoles.Registrar, identity, [endpoint], [])).Build();
        routes(app);
        await app.StartAsync();
        _servers.Add(app);
        return port;
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
        foreach (var identity in _identities)
            identity.Dispose();
        Directory.Delete(_tls, recursive: true);
        Directory.Delete(TestCa.KeyDirectory(_tls), recursive: true);
    }
}
