using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.EndToEnd;

/// <summary>
/// Real processes: a registrar, a verifier and two agents (each on its own swtpm), all `trustlaunch serve …`, mTLS on
/// loopback; a webhook receiver in the test. Covers attestation of several agents, a launch event for an unknown
/// image, the signed revocation notification, an agent going away and coming back, and a verifier killed with -9.
/// </summary>
[Trait("Category", "Slow")]
public sealed class AttestationEndToEndTests : IAsyncLifetime
{
    private const int LaunchPcr = 11;
    private static readonly string AllowedImage = "sha256:" + new string('a', 64);
    private static readonly string UnknownImage = "sha256:" + new string('b', 64);

    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-e2e-").FullName;
    private readonly SwtpmFixture[] _tpms = [new(), new()];
    private readonly string[] _agentIds = [Guid.NewGuid().ToString(), Guid.NewGuid().ToString()];
    private readonly List<ServiceProcess> _processes = [];
    private readonly List<TlsIdentity> _identities = [];
    private ServiceProcess _verifier = null!;
    private ServiceProcess[] _agents = null!;
    private WebhookReceiver _webhook = null!;
    private int _verifierPort;

    private string Pki => Path.Combine(_directory, "pki");

    public async Task InitializeAsync()
    {
        foreach (var tpm in _tpms)
            await tpm.InitializeAsync();
        using (var ca = TestCa.Init(Pki))
        {
            foreach (var role in new[] { ServiceRoles.Registrar, ServiceRoles.Verifier, ServiceRoles.Tenant })
                ca.IssueLoopback(role, role);
            for (var i = 0; i < _agentIds.Length; i++)
                ca.IssueLoopback(ServiceRoles.Agent, $"agent-{i}");
        }
        _webhook = await WebhookReceiver.StartAsync();
        var registrarPort = FreePorts.FindPair();
        await StartAsync(ServiceRoles.Registrar, registrarPort,
            "--listen", $"127.0.0.1:{registrarPort}", "--management-listen", $"127.0.0.1:{registrarPort + 1}", "--require-ek-cert", "false");
        _verifierPort = FreePorts.FindPair();
        _verifier = await StartAsync(ServiceRoles.Verifier, _verifierPort,
            "--listen", $"127.0.0.1:{_verifierPort}", "--tenant-listen", $"127.0.0.1:{_verifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{registrarPort + 1}", "--quote-interval", "0.3", "--unreachable-after", "2",
            "--webhook", _webhook.Url);
        _agents = new ServiceProcess[_agentIds.Length];
        for (var i = 0; i < _agentIds.Length; i++)
        {
            var port = FreePorts.FindPair();
            _agents[i] = await StartNamedAsync(ServiceRoles.Agent, port, $"agent-{i}", "--agent-id", _agentIds[i],
                "--registrar", $"https://127.0.0.1:{registrarPort}", "--listen", $"127.0.0.1:{port}", "--launch-pcr", LaunchPcr.ToString(CultureInfo.InvariantCulture),
                "--tpm", _tpms[i].Tcti);
        }
    }

    [Fact]
    public async Task Attestation_SeveralAgentsThroughFaultsAndCrashes_StatesResultsAndNotificationsHold()
    {
        var tenant = Tenant();
        var policy = TestPolicies.Document(digests: [AllowedImage]);
        await tenant.AddPolicyAsync(policy);
        foreach (var id in _agentIds)
            await tenant.AddAgentAsync(new AddAgentRequest(id, "prod", null));
        foreach (var id in _agentIds)
            await WaitForStateAsync(tenant, id, AgentStates.Attested);

        // Launch events within policy keep the agent Attested; an unknown image fails it at that event.
        await MeasureAsync(0, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", AllowedImage));
        await MeasureAsync(0, LaunchEvents.ContainerStarted, """{"container":"c1"}""");
        var bad = await MeasureAsync(0, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c2", UnknownImage));
        var failed = await WaitForStateAsync(tenant, _agentIds[0], AgentStates.Failed);
        Assert.Equal($"event {bad.Record.RecNum} (ContainerCreated): image {UnknownImage} is not allowed by policy 'prod' v1", failed.FailureReason);
        Assert.Equal(bad.Record.RecNum, failed.FailedEventIndex);

        // The revocation notification arrives signed by the verifier key published on its agent port.
        var notification = await WaitForWebhookAsync();
        using var key = await VerifierKeyAsync();
        var parts = Jws.Parse(notification);
        Assert.True(key.Verify(parts.Algorithm, parts.SigningInput, parts.Signature));
        var revoked = JsonSerializer.Deserialize(parts.Payload, ContractsJsonContext.Default.RevocationNotification)!;
        Assert.Equal((_agentIds[0], AgentStates.Failed, bad.Record.RecNum), (revoked.AgentId, revoked.State, revoked.EventIndex));
        var newest = (await tenant.GetResultsAsync(_agentIds[0], 1))[0];
        Assert.Equal("contraindicated", newest.Status);
        var token = Jws.Parse(newest.Token);
        Assert.True(key.Verify(token.Algorithm, token.SigningInput, token.Signature));

        // Agent 1 goes away: Unreachable; back: Attested again.
        await _agents[1].StopAsync();
        await WaitForStateAsync(tenant, _agentIds[1], AgentStates.Unreachable);
        await _agents[1].StartAsync();
        await WaitForStateAsync(tenant, _agentIds[1], AgentStates.Attested);

        // The verifier is killed mid-polling: every committed result is still there after the restart, and polling resumes.
        var before = await tenant.GetResultsAsync(_agentIds[1], 1000);
        await _verifier.KillAsync();
        await _verifier.StartAsync();
        var after = await Eventually.WaitAsync(async () =>
        {
            var results = await Tenant().GetResultsAsync(_agentIds[1], 1000);
            return results.Count > before.Count ? results : null;
        });
        Assert.Superset(before.Select(r => r.Id).ToHashSet(), after.Select(r => r.Id).ToHashSet());
        Assert.Equal(AgentStates.Failed, (await Tenant().GetAgentAsync(_agentIds[0]))!.State);
    }

    private async Task<ServiceProcess> StartAsync(string role, int port, params string[] arguments) =>
        await StartNamedAsync(role, port, role, arguments);

    private async Task<ServiceProcess> StartNamedAsync(string role, int port, string tlsName, params string[] arguments)
    {
        var data = Path.Combine(_directory, tlsName);
        var probe = Client(ServiceRoles.Tenant, port, role);
        var process = await ServiceProcess.StartAsync(role,
            [.. arguments, "--data-dir", data, "--tls-dir", Pki, "--tls-name", tlsName],
            new Uri($"https://127.0.0.1:{port}/healthz"), probe, Path.Combine(_directory, tlsName + ".log"));
        _processes.Add(process);
        return process;
    }

    private HttpClient Client(string certificate, int port, string serverRole = ServiceRoles.Verifier)
    {
        var identity = TlsIdentity.FromDirectory(Pki, certificate);
        _identities.Add(identity);
        return new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole);
    }

    private VerifierClient Tenant() => new(Client(ServiceRoles.Tenant, _verifierPort + 1));

    private async Task<PemPayloadVerifier> VerifierKeyAsync() =>
        PemPayloadVerifier.FromPem(await Client(ServiceRoles.Tenant, _verifierPort).GetStringAsync("v1/keys"));

    private async Task<MeasuredEvent> MeasureAsync(int agent, string operation, string content)
    {
        var socket = Path.Combine(_directory, $"agent-{agent}", "agent.sock");
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/") };
        using var document = JsonDocument.Parse(content);
        using var response = await http.PostAsync("v1/measure",
            JsonContent.Create(new MeasureRequest(operation, document.RootElement.Clone()), ContractsJsonContext.Default.MeasureRequest));
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", CancellationToken.None);
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.MeasuredEvent))!;
    }

    private static Task<AgentStatus> WaitForStateAsync(VerifierClient tenant, string agentId, string state) =>
        Eventually.WaitAsync(async () => await tenant.GetAgentAsync(agentId) is { } s && s.State == state ? s : null,
            () => $"agent {agentId} never reached {state}");

    private Task<string> WaitForWebhookAsync() =>
        Eventually.WaitAsync(() => Task.FromResult(_webhook.Bodies.TryPeek(out var body) ? body : null), () => "no webhook notification arrived");

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        if (_webhook is not null)
            await _webhook.DisposeAsync();
        foreach (var tpm in _tpms)
            await tpm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
