using System.Globalization;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hsm;
using TrustLaunch.Kbs;
using TrustLaunch.Measurement;
using TrustLaunch.Registrar;
using TrustLaunch.Testing;
using TrustLaunch.Verifier;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// A deployment across hosts (<see cref="NetworkHosts"/>): PostgreSQL, the registrar, the verifier (on PostgreSQL),
/// the key broker (SoftHSM wrap key) and three agents, each service on a host of its own at its default ports, each
/// agent with its own swtpm on its host, all under policy <see cref="Policy"/>, and every agent Attested. Certificates
/// name the address of the host that serves them; the test process reaches every host across the bridge.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MultiHostDeployment : IAsyncLifetime
{
    public const string Policy = "multihost";
    public const int AgentPort = 9002;
    public const string Registrar = "registrar";
    public const string Verifier = "verifier";
    public const string Postgres = "postgres";
    public const string Kbs = "kbs";
    public static readonly TimeSpan QuoteInterval = TimeSpan.FromSeconds(1);
    private const string WrapKeyLabel = "multihost-wrap";

    private readonly SoftHsmFixture _hsm = new();
    private readonly List<MultiHostAgent> _agents = [];
    private readonly List<ServiceProcess> _services = [];
    private readonly List<SwtpmFixture> _tpms = [];
    private PostgresFixture? _postgres;
    private bool _disposed;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-multihost-").FullName;
    public string TlsDirectory => Path.Combine(Directory, "tls");
    public NetworkHosts Network { get; private set; } = null!;
    public ServiceProcess VerifierProcess { get; private set; } = null!;
    public IReadOnlyList<MultiHostAgent> Agents => _agents;
    public PostgresFixture Database => _postgres!;

    public NetworkHost this[string host] => Network[host];

    public async Task InitializeAsync()
    {
        try
        {
            await StartAllAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync()
    {
        Network = await NetworkHosts.CreateAsync(Postgres, Registrar, Verifier, Kbs, "agent-0", "agent-1", "agent-2");
        using (var ca = TestCa.Init(TlsDirectory))
        {
            foreach (var (role, host) in new[] { (ServiceRoles.Registrar, Registrar), (ServiceRoles.Verifier, Verifier), (ServiceRoles.Kbs, Kbs) })
                ca.IssueAt(role, role, this[host].Address);
            ca.Issue(ServiceRoles.Tenant, ServiceRoles.Tenant, null);
            ca.Issue(ServiceRoles.KbsAdmin, ServiceRoles.KbsAdmin, null);
            for (var i = 0; i < 3; i++)
                ca.IssueAt(ServiceRoles.Agent, AgentHost(i), this[AgentHost(i)].Address);
        }
        await StartPostgresAsync();
        await StartRegistrarAsync();
        await StartVerifierAsync();
        await StartKbsAsync();
        for (var i = 0; i < 3; i++)
            await StartAgentAsync(i);
        var tenant = Tenant();
        await tenant.AddPolicyAsync(new PolicyDocument(Policy, new Dictionary<string, string>(), [], [], [], LaunchPcr.Default, new Dictionary<int, string>()));
        foreach (var agent in _agents)
            await tenant.AddAgentAsync(new AddAgentRequest(agent.AgentId, Policy, null));
        foreach (var agent in _agents)
            await WaitForStateAsync(agent, AgentStates.Attested);
    }

    public static string AgentHost(int index) => "agent-" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The verifier's tenant API (tenant certificate), across the network.</summary>
    public VerifierClient Tenant() => new(Client(ServiceRoles.Tenant, this[Verifier].Endpoint(VerifierOptions.DefaultTenantPort), ServiceRoles.Verifier));

    /// <summary>An mTLS client of <paramref name="endpoint"/> (ADDRESS:PORT) presenting certificate <paramref name="name"/>.</summary>
    public HttpClient Client(string name, string endpoint, string serverRole) =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, name)).Create(new Uri($"https://{endpoint}/"), serverRole);

    public Task<AgentStatus> WaitForStateAsync(MultiHostAgent agent, string state, TimeSpan? patience = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var tenant = Tenant();
        AgentStatus? last = null;
        return Eventually.WaitAsync(async () => (last = await tenant.GetAgentAsync(agent.AgentId)) is { } s && s.State == state ? s : null,
            () => $"agent {agent.Host} not {state} in time (last: {last})", patience);
    }

    /// <summary><c>trustlaunch ARGUMENTS</c> run on <paramref name="host"/> (null: the test side).</summary>
    public static Task<ProcessResult> CliAsync(NetworkHost? host, params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        string[] command = [.. host?.CommandPrefix ?? [], fileName, .. prefix, .. arguments];
        return ProcessRunner.RunAsync(command[0], command.Skip(1));
    }

    /// <summary><c>trustlaunch kbs ARGUMENTS</c> against the broker's admin API, from the test side.</summary>
    public Task<ProcessResult> KbsAdminAsync(params string[] arguments) =>
        CliAsync(null, ["kbs", .. arguments, "--kbs-admin", $"https://{this[Kbs].Endpoint(KbsOptions.DefaultAdminPort)}", "--tls-dir", TlsDirectory]);

    private async Task StartPostgresAsync()
    {
        var host = this[Postgres];
        _postgres = new PostgresFixture { CommandPrefix = host.CommandPrefix, ListenAddress = host.Address.ToString(), ClientNetwork = Network.Network };
        await _postgres.InitializeAsync();
    }

    private async Task StartRegistrarAsync()
    {
        var host = this[Registrar];
        var ekCa = Path.Combine(Directory, "ek-ca.pem");
        await AgentDeployment.WriteSwtpmEkCaAsync(ekCa);
        await StartServiceAsync(host, "registrar",
        [
            "--data-dir", Path.Combine(Directory, "registrar"), "--tls-dir", TlsDirectory, "--ek-ca", ekCa,
            "--listen", host.Endpoint(RegistrarOptions.DefaultAgentPort), "--management-listen", host.Endpoint(RegistrarOptions.DefaultManagementPort),
        ], host.Endpoint(RegistrarOptions.DefaultAgentPort), AgentHost(0));
    }

    private async Task StartVerifierAsync()
    {
        var host = this[Verifier];
        var database = await Database.CreateDatabaseAsync();
        var passwordFile = Path.Combine(Directory, "postgres-password");
        await File.WriteAllTextAsync(passwordFile, Database.ServicePassword);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        VerifierProcess = await StartServiceAsync(host, "verifier",
        [
            "--instance-id", "verifier-multihost", "--data-dir", Path.Combine(Directory, "verifier"), "--tls-dir", TlsDirectory,
            "--listen", host.Endpoint(VerifierOptions.DefaultAgentPort), "--tenant-listen", host.Endpoint(VerifierOptions.DefaultTenantPort),
            "--registrar", $"https://{this[Registrar].Endpoint(RegistrarOptions.DefaultManagementPort)}",
            "--store", Database.Url(database, withPassword: false), "--store-password-file", passwordFile,
            "--quote-interval", QuoteInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ], host.Endpoint(VerifierOptions.DefaultAgentPort), ServiceRoles.Tenant);
    }

    private async Task StartKbsAsync()
    {
        var host = this[Kbs];
        await _hsm.InitializeAsync();
        using (var session = _hsm.OpenSession())
            session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = WrapKeyLabel, Usage = HsmKeyUsage.Encrypt });
        var pinFile = Path.Combine(Directory, "hsm.pin");
        await File.WriteAllTextAsync(pinFile, SoftHsmFixture.UserPinText);
        var signingKey = Path.Combine(Directory, "kbs-token.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(signingKey, ec.ExportPkcs8PrivateKeyPem());
        await StartServiceAsync(host, "kbs",
        [
            "--data-dir", Path.Combine(Directory, "kbs"), "--tls-dir", TlsDirectory, "--signing-key", signingKey,
            "--wrap-key", $"pkcs11:token={_hsm.TokenLabel};object={WrapKeyLabel}?pin-source=file:{pinFile}",
            "--listen", host.Endpoint(KbsOptions.DefaultPort), "--admin-listen", host.Endpoint(KbsOptions.DefaultAdminPort),
            "--registrar", $"https://{this[Registrar].Endpoint(RegistrarOptions.DefaultManagementPort)}",
            "--verifier", $"https://{this[Verifier].Endpoint(VerifierOptions.DefaultTenantPort)}",
        ], host.Endpoint(KbsOptions.DefaultAdminPort), ServiceRoles.KbsAdmin);
        var policy = Path.Combine(Directory, "resource-policy.json");
        await File.WriteAllTextAsync(policy, $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{Policy}}"]}]}""");
        (await KbsAdminAsync("policy", "put", policy)).EnsureSuccess("kbs policy put");
    }

    private async Task StartAgentAsync(int index)
    {
        var host = this[AgentHost(index)];
        var tpm = new SwtpmFixture { CommandPrefix = host.CommandPrefix, ListenAddress = host.Address.ToString() };
        _tpms.Add(tpm);
        await tpm.InitializeAsync();
        var agentId = Guid.NewGuid().ToString();
        var dataDirectory = Path.Combine(Directory, host.Name);
        var process = await StartServiceAsync(host, "agent",
        [
            "--agent-id", agentId, "--data-dir", dataDirectory, "--tpm", tpm.Tcti, "--tls-dir", TlsDirectory, "--tls-name", host.Name,
            "--registrar", $"https://{this[Registrar].Endpoint(RegistrarOptions.DefaultAgentPort)}", "--listen", host.Endpoint(AgentPort),
            "--kbs", $"https://{this[Kbs].Endpoint(KbsOptions.DefaultPort)}",
        ], host.Endpoint(AgentPort), ServiceRoles.Verifier);
        _agents.Add(new MultiHostAgent(host, agentId, process, tpm, Path.Combine(dataDirectory, "agent.sock")));
    }

    /// <summary>Starts <c>serve ROLE</c> on <paramref name="host"/>, ready once <c>/readyz</c> at <paramref name="readyEndpoint"/>
    /// answers a client with certificate <paramref name="probeName"/>.</summary>
    private async Task<ServiceProcess> StartServiceAsync(NetworkHost host, string role, string[] arguments, string readyEndpoint, string probeName)
    {
        var process = await ServiceProcess.StartAsync(role, arguments, new Uri($"https://{readyEndpoint}/readyz"), Client(probeName, readyEndpoint, role),
            Path.Combine(Directory, $"{host.Name}-{role}.log"), commandPrefix: host.CommandPrefix);
        _services.Add(process);
        return process;
    }

    public async Task DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var service in Enumerable.Reverse(_services))
            await service.DisposeAsync();
        foreach (var tpm in _tpms)
            await tpm.DisposeAsync();
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        await _hsm.DisposeAsync();
        if (Network is not null)
            await Network.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>One agent of a <see cref="MultiHostDeployment"/>: its host, id, process, TPM and local socket.</summary>
public sealed record MultiHostAgent(NetworkHost Host, string AgentId, ServiceProcess Process, SwtpmFixture Swtpm, string SocketPath);
