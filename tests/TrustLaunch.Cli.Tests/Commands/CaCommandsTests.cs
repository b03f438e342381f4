using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>trustlaunch ca init|issue|renew|revoke</c>, and what a real <c>serve registrar</c> process does with their output.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CaCommandsTests : IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly List<TlsIdentity> _identities = [];
    private ServiceProcess? _registrar;
    private int _port;

    private string Tls => _scratch["tls"];
    private string[] Dirs => ["--dir", Tls, "--key-dir", _scratch["ca"]];

    public async Task InitializeAsync()
    {
        (await CliHarness.RunAsync(["ca", "init", .. Dirs])).EnsureSuccess();
        (await CliHarness.RunAsync(["ca", "issue", "registrar", "registrar", "--san", "IP:127.0.0.1", .. Dirs])).EnsureSuccess();
        foreach (var role in new[] { ServiceRoles.Agent, ServiceRoles.Tenant })
            (await CliHarness.RunAsync(["ca", "issue", role, role, .. Dirs])).EnsureSuccess();
    }

    public async Task DisposeAsync()
    {
        if (_registrar is not null)
            await _registrar.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        _scratch.Dispose();
    }

    private async Task StartRegistrarAsync()
    {
        _port = FreePorts.FindPair();
        _registrar = await ServiceProcess.StartAsync(ServiceRoles.Registrar,
        [
            "--data-dir", _scratch["registrar"], "--tls-dir", Tls, "--require-ek-cert", "false",
            "--listen", $"127.0.0.1:{_port}", "--management-listen", $"127.0.0.1:{_port + 1}",
        ], new Uri($"https://127.0.0.1:{_port}/readyz"), Client(ServiceRoles.Tenant, _port), _scratch["registrar.log"]);
    }

    private HttpClient Client(string name, int port)
    {
        var identity = TlsIdentity.FromDirectory(Tls, name);
        _identities.Add(identity);
        return new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Registrar);
    }

    /// <summary>The registrar's first log line containing <paramref name="text"/> (its JSON console log is flushed asynchronously).</summary>
    private async Task<string> LogLineAsync(string text)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_registrar!.ReadLog().Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
                return line;
            Assert.True(attempt < 50, $"no log line with '{text}':\n{_registrar.ReadLog()}");
            await Task.Delay(100);
        }
    }

    private X509Certificate2 Certificate(string name) => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Tls, name + ".crt")));

    [Fact]
    public async Task Init_KeyStaysInTheKeyDirectory_ServicesDirectoryHoldsNoKeyOfTheCa()
    {
        Assert.False(File.Exists(Path.Combine(Tls, "ca.key")));
        Assert.True(File.Exists(_scratch["ca/ca.key"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_scratch["ca"]));

        var inside = await CliHarness.RunAsync("ca", "init", "--dir", _scratch["tls2"], "--key-dir", _scratch["tls2/private"]);
        Assert.Equal((2, $"error: the CA key directory {_scratch["tls2/private"]} must be apart from the TLS directory {_scratch["tls2"]} services read (neither inside the other)\n"),
            (inside.ExitCode, inside.Stderr));
    }

    [Fact]
    public async Task Issue_NoSanGiven_CertificatesNameNoHostAndTheTenantNoneEvenWhenAsked()
    {
        using (var agent = Certificate(ServiceRoles.Agent))
        using (var tenant = Certificate(ServiceRoles.Tenant))
        {
            foreach (var leaf in new[] { agent, tenant })
                Assert.True(SubjectAltNames.Read(leaf).IsEmpty, leaf.Subject);
            Assert.Equal([CaBundle.ClientAuthOid], tenant.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        }

        var refused = await CliHarness.RunAsync(["ca", "issue", "tenant", "alice", "--san", "IP:127.0.0.1", .. Dirs]);
        Assert.Equal((2, "error: --san: role 'tenant' is client-only and gets no DNS/IP names\n"), (refused.ExitCode, refused.Stderr));

        var issued = await CliHarness.RunAsync(["ca", "issue", "verifier", "v1", "--san", "DNS:verifier.example,IP:10.0.0.7", "--san", "IP:127.0.0.1", "--days", "30", "--json", .. Dirs]);
        issued.EnsureSuccess();
        Assert.Equal("DNS:verifier.example,IP:10.0.0.7,IP:127.0.0.1", issued.Json.GetProperty("subject_alt_names").GetString());
        using var verifier = Certificate("v1");
        Assert.InRange(verifier.NotAfter - verifier.NotBefore, TimeSpan.FromDays(30), TimeSpan.FromDays(30) + TimeSpan.FromMinutes(6));
    }

    [Fact]
    public async Task Serve_TlsDirectoryHoldingTheCaKey_RefusedToStart()
    {
        File.Copy(_scratch["ca/ca.key"], Path.Combine(Tls, "ca.key"));

        var result = await CliHarness.RunAsync("serve", "registrar", "--tls-dir", Tls, "--require-ek-cert", "false", "--data-dir", _scratch["data"],
            "--listen", $"127.0.0.1:{FreePorts.FindPair()}");

        Assert.Equal((1, $"error: {Tls} holds the CA private key ca.key: a service that can read it can issue certificates of any role; "
            + "keep it in the CA key directory (trustlaunch ca init --key-dir) and give services ca.crt and crl.pem only\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Revoke_RunningRegistrar_RefusesTheRevokedAtTheNextHandshakeWithoutRestartAndAcceptsTheRenewed()
    {
        await StartRegistrarAsync();
        using (var before = Client(ServiceRoles.Agent, _port))
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/readyz")).StatusCode);

        var revoke = await CliHarness.RunAsync(["ca", "revoke", "agent", "--json", .. Dirs]);
        revoke.EnsureSuccess();
        Assert.Equal(1, revoke.Json.GetProperty("revoked").GetArrayLength());

        using (var revoked = Client(ServiceRoles.Agent, _port))
            await Assert.ThrowsAsync<HttpRequestException>(() => revoked.GetAsync("/readyz"));
        Assert.Contains("client certificate CN=agent, OU=agent, O=TrustLaunch refused: certificate", await LogLineAsync("is revoked"));
        using (var tenant = Client(ServiceRoles.Tenant, _port + 1))
            Assert.Equal(HttpStatusCode.OK, (await tenant.GetAsync("/v1/agents")).StatusCode);

        (await CliHarness.RunAsync(["ca", "renew", "agent", .. Dirs])).EnsureSuccess();
        using var renewed = Client(ServiceRoles.Agent, _port);
        Assert.Equal(HttpStatusCode.OK, (await renewed.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task TenantCli_VerifierUrlAnsweredByTheRegistrar_RefusedNamingExpectedAndFoundRole()
    {
        await StartRegistrarAsync();

        var result = await CliHarness.RunAsync("agent", "list", "--verifier", $"https://127.0.0.1:{_port + 1}", "--tls-dir", Tls);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: verifier https://127.0.0.1:{_port + 1}/ unreachable: server 127.0.0.1:{_port + 1} refused: the server certificate "
            + "'CN=registrar, OU=registrar, O=TrustLaunch' has role 'registrar', expected role 'verifier'\n", result.Stderr);
    }

    [Fact]
    public async Task Registrar_SpoofedHostNamingTheManagementPort_NotFoundOnTheAgentPort()
    {
        await StartRegistrarAsync();
        using var tenant = Client(ServiceRoles.Tenant, _port);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/agents");
        request.Headers.Host = $"127.0.0.1:{_port + 1}";

        using var response = await tenant.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
