using System.Net.Http.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// One node and its registrar as real processes: a CA with a certificate per role, a private swtpm provisioned by
/// swtpm_setup, <c>trustlaunch serve registrar</c> (EK certificates checked against swtpm's local CA) and
/// <c>trustlaunch serve agent</c> on loopback ports, all under one scratch directory.
/// </summary>
public sealed class AgentDeployment : IAsyncLifetime
{
    /// <summary>swtpm_setup's default swtpm-localca state (/etc/swtpm-localca.conf).</summary>
    private const string SwtpmLocalCa = "/var/lib/swtpm-localca";

    public string AgentId { get; } = Guid.NewGuid().ToString();
    public SwtpmFixture Swtpm { get; } = new();
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-agent-e2e-").FullName;
    public string TlsDirectory => Path.Combine(Directory, "tls");
    public string AgentDataDirectory => Path.Combine(Directory, "agent");
    public string SocketPath => Path.Combine(AgentDataDirectory, "agent.sock");
    public ServiceProcess Registrar { get; private set; } = null!;
    public ServiceProcess? Agent { get; private set; }
    public int RegistrarPort { get; private set; }
    public int AgentPort { get; private set; }

    /// <summary>More arguments for <c>serve registrar</c> (e.g. <c>--store postgres://…</c>).</summary>
    public IReadOnlyList<string> RegistrarArguments { get; init; } = [];

    /// <summary>More arguments for <c>serve agent</c> (e.g. <c>--push https://…</c>).</summary>
    public IReadOnlyList<string> AgentArguments { get; init; } = [];

    /// <summary>More EK CA certificates (PEM) the registrar trusts besides swtpm's, e.g. a load simulator's.</summary>
    public string ExtraEkCaPem { get; init; } = "";

    public async Task InitializeAsync()
    {
        await Swtpm.InitializeAsync();
        TestCa.Create(TlsDirectory);
        var ekCa = Path.Combine(Directory, "ek-ca.pem");
        await WriteSwtpmEkCaAsync(ekCa, ExtraEkCaPem);
        RegistrarPort = FreePorts.FindPair();
        Registrar = await ServiceProcess.StartAsync("registrar",
        [
            "--data-dir", Path.Combine(Directory, "registrar"), "--tls-dir", TlsDirectory, "--ek-ca", ekCa,
            "--listen", $"127.0.0.1:{RegistrarPort}", "--management-listen", $"127.0.0.1:{RegistrarPort + 1}", .. RegistrarArguments,
        ], new Uri($"https://127.0.0.1:{RegistrarPort}/readyz"), Client(ServiceRoles.Agent, RegistrarPort, ServiceRoles.Registrar), Path.Combine(Directory, "registrar.log"));
        AgentPort = FreePorts.FindPair();
    }

    /// <summary>Writes the EK CA bundle a registrar needs for swtpm_setup's EK certificates (its local CA), plus <paramref name="extraPem"/>.</summary>
    public static async Task WriteSwtpmEkCaAsync(string path, string extraPem = "") =>
        await File.WriteAllTextAsync(path, await File.ReadAllTextAsync(Path.Combine(SwtpmLocalCa, "issuercert.pem"))
            + await File.ReadAllTextAsync(Path.Combine(SwtpmLocalCa, "swtpm-localca-rootca-cert.pem")) + extraPem);

    /// <summary>Starts <c>trustlaunch serve agent</c> (again, on the same data dir and TPM) and waits until it serves.</summary>
    public async Task<ServiceProcess> StartAgentAsync()
    {
        if (Agent is not null)
        {
            await Agent.StartAsync();
            return Agent;
        }
        Agent = await ServiceProcess.StartAsync("agent",
        [
            "--agent-id", AgentId, "--data-dir", AgentDataDirectory, "--tpm", Swtpm.Tcti, "--tls-dir", TlsDirectory,
            "--registrar", $"https://127.0.0.1:{RegistrarPort}", "--listen", $"127.0.0.1:{AgentPort}", .. AgentArguments,
        ], new Uri($"https://127.0.0.1:{AgentPort}/readyz"), Client(ServiceRoles.Verifier, AgentPort, ServiceRoles.Agent), Path.Combine(Directory, "agent.log"));
        return Agent;
    }

    /// <summary>An mTLS client of the agent's attestation port presenting the certificate of <paramref name="role"/>.</summary>
    public HttpClient AgentClient(string role = ServiceRoles.Verifier) => Client(role, AgentPort, ServiceRoles.Agent);

    /// <summary>The registrar's management API (mutual TLS, tenant role).</summary>
    public RegistrarClient RegistrarManagement() => new(Client(ServiceRoles.Tenant, RegistrarPort + 1, ServiceRoles.Registrar));

    /// <summary>The launcher's side: the agent's unix socket.</summary>
    public HttpClient LocalClient() => UnixSocketHttp.Create(SocketPath);

    /// <summary>The launch log from record <paramref name="since"/>, read on the agent's socket.</summary>
    public async Task<IReadOnlyList<TrustLaunch.Measurement.CelRecord>> ReadLogAsync(long since = 0)
    {
        using var local = LocalClient();
        return (await local.GetFromJsonAsync($"/v1/log?since={since}", ContractsJsonContext.Default.IReadOnlyListCelRecord))!;
    }

    public async Task<HttpResponseMessage> PostMeasureAsync(string operation, string contentJson, string? goldenValue = null)
    {
        using var local = LocalClient();
        var request = new MeasureRequest(operation, System.Text.Json.JsonDocument.Parse(contentJson).RootElement.Clone(), goldenValue);
        return await local.PostAsJsonAsync("/v1/measure", request, ContractsJsonContext.Default.MeasureRequest);
    }

    public async Task<MeasuredEvent> MeasureAsync(string operation, string contentJson, string? goldenValue = null)
    {
        using var response = await PostMeasureAsync(operation, contentJson, goldenValue);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.MeasuredEvent))!;
    }

    public async Task<HttpResponseMessage> GetQuoteAsync(byte[] nonce, string? pcrs = null, long since = 0)
    {
        using var client = AgentClient();
        var query = $"/v1/quote?nonce={Convert.ToHexStringLower(nonce)}&since={since}" + (pcrs is null ? "" : $"&pcrs={pcrs}");
        return await client.GetAsync(query);
    }

    public async Task<AgentInfo> GetInfoAsync()
    {
        using var client = AgentClient();
        return (await client.GetFromJsonAsync("/v1/info", ContractsJsonContext.Default.AgentInfo))!;
    }

    private HttpClient Client(string name, int port, string serverRole) =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, name)).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);

    public async Task DisposeAsync()
    {
        if (Agent is not null)
            await Agent.DisposeAsync();
        if (Registrar is not null)
            await Registrar.DisposeAsync();
        await Swtpm.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
