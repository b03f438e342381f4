using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>serve registrar --store postgres://…</c> and <c>serve verifier --store postgres://…</c> (the Native AOT binary,
/// password from <c>--store-password-file</c>) on one PostgreSQL database, with a real agent on its own swtpm: the agent
/// registers, is put under a policy and becomes Attested; each service keeps its tables in its own schema; both
/// services killed with -9 and restarted come back with that state. The native verifier (built with the AOT feature
/// switch that turns the API explorer's enhanced model metadata off) serves its generated OpenAPI document.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PostgresStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly PostgresFixture _postgres = new();
    private AgentDeployment _deployment = null!;
    private ServiceProcess _verifier = null!;
    private string _database = null!;
    private int _verifierPort;

    private string TenantUrl => $"https://127.0.0.1:{_verifierPort + 1}";

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        _database = await _postgres.CreateDatabaseAsync();
        _deployment = new AgentDeployment { RegistrarArguments = ["--store", _postgres.Url(_database)] };
        await _deployment.InitializeAsync();
        await _deployment.StartAgentAsync();
        var passwordFile = Path.Combine(_deployment.Directory, "store-password");
        await File.WriteAllTextAsync(passwordFile, _postgres.ServicePassword + "\n");
        _verifierPort = FreePorts.FindPair();
        _verifier = await ServiceProcess.StartAsync(ServiceRoles.Verifier,
        [
            "--data-dir", Path.Combine(_deployment.Directory, "verifier"), "--tls-dir", _deployment.TlsDirectory,
            "--listen", $"127.0.0.1:{_verifierPort}", "--tenant-listen", $"127.0.0.1:{_verifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{_deployment.RegistrarPort + 1}", "--quote-interval", "0.3",
            "--store", _postgres.Url(_database, withPassword: false), "--store-password-file", passwordFile,
        ], new Uri($"{TenantUrl}/readyz"), Client(), Path.Combine(_deployment.Directory, "verifier.log"), await PublishedCli.PathAsync());
    }

    [Fact]
    public async Task ServeBothOnOnePostgresDatabase_AgentAttested_StateInOwnSchemasSurvivesKillDashNine()
    {
        var tenant = new VerifierClient(Client());
        await tenant.AddPolicyAsync(new PolicyDocument("prod", new Dictionary<string, string>(), ["sha256:" + new string('a', 64)], [], [],
            LaunchPcr.Default, new Dictionary<int, string>()));
        await tenant.AddAgentAsync(new AddAgentRequest(_deployment.AgentId, "prod", null));
        await WaitForStateAsync(tenant, AgentStates.Attested);

        Assert.Equal(true, await _postgres.AdminAsync($"SELECT count(*) = 1 FROM registrar.agents WHERE agent_id = '{_deployment.AgentId}'", _database));
        Assert.Equal(AgentStates.Attested, await _postgres.AdminAsync($"SELECT state FROM verifier.agents WHERE agent_id = '{_deployment.AgentId}'", _database));
        Assert.Equal(2L, await _postgres.AdminAsync("SELECT COUNT(*) FROM pg_tables WHERE schemaname IN ('registrar', 'verifier') AND tablename = 'schema_version'", _database));

        await _deployment.Registrar.RestartAfterKillAsync();
        await _verifier.RestartAfterKillAsync();

        Assert.True((await _deployment.RegistrarManagement().GetAsync(_deployment.AgentId))!.Active);
        Assert.Equal("prod", Assert.Single(await tenant.ListPoliciesAsync()).Policy.Name);
        var attestations = (await tenant.GetAgentAsync(_deployment.AgentId))!.Attestations;
        var resumed = await WaitForStateAsync(tenant, AgentStates.Attested, s => s.Attestations > attestations);
        Assert.Null(resumed.FailureReason);
        // What the services wrote (the harness's own "--- start: …" lines repeat the registrar's command line).
        var serviceOutput = File.ReadAllLines(_verifier.LogFile).Concat(File.ReadAllLines(_deployment.Registrar.LogFile))
            .Where(line => !line.StartsWith("--- start:", StringComparison.Ordinal));
        Assert.DoesNotContain(serviceOutput, line => line.Contains(_postgres.ServicePassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task NativeVerifier_TenantListener_ServesItsOpenApiDocument()
    {
        using var tenant = Client();

        using var document = JsonDocument.Parse(await tenant.GetStringAsync(new Uri("openapi.json", UriKind.Relative)));

        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v1/agents/{id}/policy", paths);
        Assert.Contains("/openapi.json", paths);
    }

    private async Task<AgentStatus> WaitForStateAsync(VerifierClient tenant, string state, Func<AgentStatus, bool>? also = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await tenant.GetAgentAsync(_deployment.AgentId);
            if (status is not null && status.State == state && (also is null || also(status)))
                return status;
            Assert.True(DateTime.UtcNow < deadline, $"agent never reached {state}: {status}; verifier log:\n{_verifier.ReadLog()}");
            await Task.Delay(200);
        }
    }

    private HttpClient Client() =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(_deployment.TlsDirectory, ServiceRoles.Tenant)).Create(new Uri(TenantUrl), ServiceRoles.Verifier);

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        if (_deployment is not null)
            await _deployment.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}
