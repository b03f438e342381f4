using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>
/// A registrar and a verifier (quote interval 0.3 s) as real <c>trustlaunch serve</c> processes on loopback, and as many
/// agents as tests ask for, each on its own swtpm and registered, so a test can turn its own node Failed.
/// </summary>
public sealed class AttestationProcesses : IAsyncLifetime
{
    public const int LaunchPcr = 11;

    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-processes-").FullName;
    private readonly List<ServiceProcess> _processes = [];
    private readonly List<SwtpmFixture> _tpms = [];
    private readonly List<TlsIdentity> _identities = [];
    private int _registrarPort;
    private int _verifierPort;
    private int _agents;

    private string Pki => Path.Combine(_directory, "pki");

    public async Task InitializeAsync()
    {
        TestCa.Create(Pki, [ServiceRoles.Registrar, ServiceRoles.Verifier, ServiceRoles.Tenant]);
        _registrarPort = FreePorts.FindPair();
        await StartAsync(ServiceRoles.Registrar, _registrarPort, ServiceRoles.Registrar,
            "--listen", $"127.0.0.1:{_registrarPort}", "--management-listen", $"127.0.0.1:{_registrarPort + 1}", "--require-ek-cert", "false");
        _verifierPort = FreePorts.FindPair();
        await StartAsync(ServiceRoles.Verifier, _verifierPort, ServiceRoles.Verifier,
            "--listen", $"127.0.0.1:{_verifierPort}", "--tenant-listen", $"127.0.0.1:{_verifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{_registrarPort + 1}", "--quote-interval", "0.3", "--unreachable-after", "2");
    }

    public VerifierClient Tenant() => new(Client(ServiceRoles.Tenant, _verifierPort + 1, ServiceRoles.Verifier));

    /// <summary>Starts an agent on a new swtpm, adds <paramref name="policy"/> (a new version if it exists) and puts the agent under it; returns once it is Attested.</summary>
    public async Task<AttestedAgent> StartAttestedAgentAsync(PolicyDocument policy)
    {
        var tpm = new SwtpmFixture();
        _tpms.Add(tpm);
        await tpm.InitializeAsync();
        var name = $"agent-{Interlocked.Increment(ref _agents)}";
        using (var ca = TestCa.Open(Pki))
            ca.IssueLoopback(ServiceRoles.Agent, name);
        var id = Guid.NewGuid().ToString();
        var port = FreePorts.FindPair();
        await StartAsync(ServiceRoles.Agent, port, name, "--agent-id", id, "--registrar", $"https://127.0.0.1:{_registrarPort}",
            "--listen", $"127.0.0.1:{port}", "--launch-pcr", LaunchPcr.ToString(CultureInfo.InvariantCulture), "--tpm", tpm.Tcti);
        var tenant = Tenant();
        var stored = await tenant.AddPolicyAsync(policy);
        await tenant.AddAgentAsync(new AddAgentRequest(id, policy.Name, null));
        var agent = new AttestedAgent(this, id, Path.Combine(_directory, name, "agent.sock"), stored.Version);
        await agent.WaitForAsync(s => s.State == AgentStates.Attested);
        return agent;
    }

    private async Task StartAsync(string role, int port, string tlsName, params string[] arguments) =>
        _processes.Add(await ServiceProcess.StartAsync(role,
            [.. arguments, "--data-dir", Path.Combine(_directory, tlsName), "--tls-dir", Pki, "--tls-name", tlsName],
            new Uri($"https://127.0.0.1:{port}/healthz"), Client(ServiceRoles.Tenant, port, role), Path.Combine(_directory, tlsName + ".log")));

    private HttpClient Client(string certificate, int port, string serverRole)
    {
        var identity = TlsIdentity.FromDirectory(Pki, certificate);
        _identities.Add(identity);
        return new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        foreach (var tpm in _tpms)
            await tpm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>An agent under attestation: what the launcher would post to its socket, and what the verifier says of it.</summary>
public sealed class AttestedAgent(AttestationProcesses processes, string agentId, string socketPath, int policyVersion)
{
    public string AgentId { get; } = agentId;
    public int PolicyVersion { get; } = policyVersion;

    public async Task<HttpResponseMessage> PostMeasureAsync(string operation, string content, string? goldenValue = null)
    {
        using var local = UnixSocketHttp.Create(socketPath);
        using var document = JsonDocument.Parse(content);
        return await local.PostAsJsonAsync("v1/measure", new MeasureRequest(operation, document.RootElement.Clone(), goldenValue),
            ContractsJsonContext.Default.MeasureRequest);
    }

    public async Task<long> MeasureAsync(string operation, string content, string? goldenValue = null)
    {
        using var response = await PostMeasureAsync(operation, content, goldenValue);
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", CancellationToken.None);
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.MeasuredEvent))!.Record.RecNum;
    }

    public Task<AgentStatus> WaitForAsync(Func<AgentStatus, bool> done)
    {
        var tenant = processes.Tenant();
        AgentStatus? last = null;
        return Eventually.WaitAsync(async () => (last = await tenant.GetAgentAsync(AgentId)) is { } s && done(s) ? s : null,
            () => $"agent {AgentId} never reached the expected state; last: {last}");
    }

    /// <summary>Waits until the verifier has judged record <paramref name="recnum"/> (or failed the agent).</summary>
    public Task<AgentStatus> JudgedAsync(long recnum) => WaitForAsync(s => s.EventsVerified > recnum || s.State == AgentStates.Failed);
}
