using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// Several verifier instances on one store attesting several nodes, all real processes: an
/// <see cref="AgentDeployment"/> (its CA, registrar and first agent), <see cref="NodeCount"/> − 1 more agents each on
/// its own swtpm with its own certificate from that CA, and any number of <c>trustlaunch serve verifier</c> instances
/// started with <see cref="StartVerifierAsync"/> on the store given. Extra nodes (e.g. simulated agents) register
/// at <see cref="Deployment"/>'s registrar with certificates from <see cref="IssueAgentCertificate"/>.
/// </summary>
public sealed class VerifierFleet(int nodeCount, AgentDeployment? deployment = null) : IAsyncLifetime
{
    private readonly List<FleetNode> _nodes = [];
    private readonly List<FleetVerifier> _verifiers = [];

    public AgentDeployment Deployment { get; } = deployment ?? new();
    public int NodeCount { get; } = nodeCount;
    public IReadOnlyList<FleetNode> Nodes => _nodes;
    public IReadOnlyList<FleetVerifier> Verifiers => _verifiers;
    public string TlsDirectory => Deployment.TlsDirectory;
    public string RegistrarManagementUrl => $"https://127.0.0.1:{Deployment.RegistrarPort + 1}";

    /// <summary>More <c>serve agent</c> options for the nodes after the deployment's own (e.g. <c>--kbs URL</c>).</summary>
    public IReadOnlyList<string> NodeArguments { get; init; } = [];

    public async Task InitializeAsync()
    {
        await Deployment.InitializeAsync();
        await Deployment.StartAgentAsync();
        _nodes.Add(new FleetNode(Deployment.AgentId, Deployment.Agent!, null));
        for (var i = 1; i < NodeCount; i++)
        {
            var tpm = new SwtpmFixture();
            await tpm.InitializeAsync();
            var name = $"agent-{i}";
            IssueAgentCertificate(name);
            var id = Guid.NewGuid().ToString();
            var port = FreePorts.FindPair();
            var process = await ServiceProcess.StartAsync("agent",
            [
                "--agent-id", id, "--data-dir", Path.Combine(Deployment.Directory, name), "--tpm", tpm.Tcti, "--tls-dir", TlsDirectory,
                "--tls-name", name, "--registrar", $"https://127.0.0.1:{Deployment.RegistrarPort}", "--listen", $"127.0.0.1:{port}", .. NodeArguments,
            ], new Uri($"https://127.0.0.1:{port}/readyz"), Client(ServiceRoles.Verifier, port, ServiceRoles.Agent), Path.Combine(Deployment.Directory, name + ".log"));
            _nodes.Add(new FleetNode(id, process, tpm));
        }
    }

    /// <summary>An agent-role certificate NAME.crt/NAME.key in <see cref="TlsDirectory"/>, issued by the fleet's CA.</summary>
    public void IssueAgentCertificate(string name)
    {
        using var ca = TestCa.Open(TlsDirectory);
        ca.IssueLoopback(ServiceRoles.Agent, name);
    }

    /// <summary>
    /// Starts <c>trustlaunch serve verifier --instance-id INSTANCE</c> with its own data dir and ports and the
    /// verifier certificate, reaching the fleet's registrar, plus <paramref name="arguments"/> (<c>--store</c>,
    /// <c>--quote-interval</c>, <c>--lease</c>, …).
    /// </summary>
    public async Task<FleetVerifier> StartVerifierAsync(string instanceId, params string[] arguments)
    {
        var port = FreePorts.FindPair();
        var name = "verifier-" + _verifiers.Count;
        var process = await ServiceProcess.StartAsync("verifier",
        [
            "--instance-id", instanceId, "--data-dir", Path.Combine(Deployment.Directory, name), "--tls-dir", TlsDirectory,
            "--tls-name", ServiceRoles.Verifier, "--listen", $"127.0.0.1:{port}", "--tenant-listen", $"127.0.0.1:{port + 1}",
            "--registrar", RegistrarManagementUrl, .. arguments,
        ], new Uri($"https://127.0.0.1:{port}/readyz"), Client(ServiceRoles.Tenant, port), Path.Combine(Deployment.Directory, name + ".log"));
        var verifier = new FleetVerifier(instanceId, process, port, port + 1);
        _verifiers.Add(verifier);
        return verifier;
    }

    /// <summary>The tenant API of <paramref name="verifier"/> (tenant certificate).</summary>
    public VerifierClient Tenant(FleetVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return new VerifierClient(Client(ServiceRoles.Tenant, verifier.TenantPort));
    }

    /// <summary>A TLS client of <paramref name="verifier"/>'s agent-facing port (keys, image attestation).</summary>
    public HttpClient AgentFacing(FleetVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return Client(ServiceRoles.Tenant, verifier.AgentPort);
    }

    /// <summary>The CLI options that make tenant commands talk to <paramref name="verifier"/>.</summary>
    public string[] TenantArguments(FleetVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return ["--verifier", $"https://127.0.0.1:{verifier.TenantPort}", "--tls-dir", TlsDirectory, "--tls-name", ServiceRoles.Tenant];
    }

    private HttpClient Client(string name, int port, string serverRole = ServiceRoles.Verifier) =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, name)).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);

    public async Task DisposeAsync()
    {
        foreach (var verifier in _verifiers)
            await verifier.Process.DisposeAsync();
        foreach (var node in _nodes.Where(n => n.Swtpm is not null))
        {
            await node.Process.DisposeAsync();
            await node.Swtpm!.DisposeAsync();
        }
        await Deployment.DisposeAsync();
    }
}

/// <summary>One attested node of a <see cref="VerifierFleet"/>; <c>Swtpm</c> is null for the deployment's own agent.</summary>
public sealed record FleetNode(string AgentId, ServiceProcess Process, SwtpmFixture? Swtpm);

/// <summary>One verifier instance of a <see cref="VerifierFleet"/> and its ports.</summary>
public sealed record FleetVerifier(string InstanceId, ServiceProcess Process, int AgentPort, int TenantPort);
