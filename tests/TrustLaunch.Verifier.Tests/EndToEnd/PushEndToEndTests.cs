using System.Globalization;
using System.Net.Http.Json;
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
/// Real processes on loopback: a registrar, a verifier, a pull-mode agent and a push-mode agent
/// (<c>serve agent --push</c>), each agent on its own swtpm. Both are attested side by side; the push agent misses its
/// deadline while killed and is attested again once restarted; a launch event for an unknown image fails either agent
/// at that event, with the same reason; a launch PCR extended behind the log fails either agent, and every change to
/// Unreachable or Failed reaches the webhook, signed, with the state.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PushEndToEndTests : IAsyncLifetime
{
    private const int LaunchPcr = 11;
    private const int Pull = 0;
    private const int Push = 1;
    private static readonly string AllowedImage = "sha256:" + new string('a', 64);
    private static readonly string UnknownImage = "sha256:" + new string('b', 64);
    private static readonly string PublishedImage = "sha256:" + new string('f', 64);

    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-push-e2e-").FullName;
    private readonly SwtpmFixture[] _tpms = [new(), new()];
    private readonly string[] _agentIds = [Guid.NewGuid().ToString(), Guid.NewGuid().ToString()];
    private readonly List<ServiceProcess> _processes = [];
    private readonly List<TlsIdentity> _identities = [];
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
        await StartAsync(ServiceRoles.Registrar, registrarPort, ServiceRoles.Registrar,
            "--listen", $"127.0.0.1:{registrarPort}", "--management-listen", $"127.0.0.1:{registrarPort + 1}", "--require-ek-cert", "false");
        _verifierPort = FreePorts.FindPair();
        await StartAsync(ServiceRoles.Verifier, _verifierPort, ServiceRoles.Verifier,
            "--listen", $"127.0.0.1:{_verifierPort}", "--tenant-listen", $"127.0.0.1:{_verifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{registrarPort + 1}", "--quote-interval", "0.3", "--unreachable-after", "2",
            "--webhook", _webhook.Url);
        _agents = new ServiceProcess[_agentIds.Length];
        for (var i = 0; i < _agentIds.Length; i++)
        {
            var port = FreePorts.FindPair();
            string[] push = i == Push ? ["--push", $"https://127.0.0.1:{_verifierPort}"] : [];
            _agents[i] = await StartAsync(ServiceRoles.Agent, port, $"agent-{i}", [
                "--agent-id", _agentIds[i], "--registrar", $"https://127.0.0.1:{registrarPort}", "--listen", $"127.0.0.1:{port}",
                "--launch-pcr", LaunchPcr.ToString(CultureInfo.InvariantCulture), "--tpm", _tpms[i].Tcti, .. push]);
        }
    }

    [Fact]
    public async Task PushAgent_NextToPullAgent_AttestedMissesDeadlineRecoversAndFailsLikePull()
    {
        var tenant = Tenant();
        await tenant.AddPolicyAsync(TestPolicies.Document(digests: [AllowedImage]));
        await tenant.AddAgentAsync(new AddAgentRequest(_agentIds[Pull], "prod", null));
        var added = await tenant.AddAgentAsync(new AddAgentRequest(_agentIds[Push], "prod", null, AttestationModes.Push));
        Assert.Equal((AttestationModes.Push, ""), (added.Mode, added.Address));

        foreach (var id in _agentIds)
            await WaitForStateAsync(tenant, id, AgentStates.Attested);
        foreach (var id in _agentIds)
            Assert.Equal("affirming", (await tenant.GetResultsAsync(id, 1))[0].Status);
        // The golden value an ImageVerified names travels with the pushed evidence, and the verifier checks it.
        var golden = TestEvents.SignGolden(PublishedImage);
        await MeasureAsync(Push, LaunchEvents.ImageVerified, TestEvents.ImageVerified(PublishedImage, golden), golden);
        await MeasureAsync(Push, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c1", PublishedImage));
        var attested = await Eventually.WaitAsync(async () => await tenant.GetAgentAsync(_agentIds[Push]) is { } s && (s.EventsVerified > 1 || s.State == AgentStates.Failed) ? s : null,
            () => "the push agent's launch events were never verified");
        Assert.Equal((AgentStates.Attested, null), (attested.State, attested.FailureReason));

        // Killed, the push agent misses its deadline; restarted, it is attested again.
        await _agents[Push].KillAsync();
        var unreachable = await WaitForStateAsync(tenant, _agentIds[Push], AgentStates.Unreachable);
        Assert.StartsWith("no evidence arrived by its deadline ", unreachable.FailureReason, StringComparison.Ordinal);
        await _agents[Push].StartAsync();
        await WaitForStateAsync(tenant, _agentIds[Push], AgentStates.Attested);

        // The same forged launch event fails either agent at that event, with the same reason.
        foreach (var agent in new[] { Pull, Push })
        {
            var bad = await MeasureAsync(agent, LaunchEvents.ContainerCreated, TestEvents.ContainerCreated("c2", UnknownImage));
            var failed = await WaitForStateAsync(tenant, _agentIds[agent], AgentStates.Failed);
            Assert.Equal($"event {bad.Record.RecNum} (ContainerCreated): image {UnknownImage} is not allowed by policy 'prod' v1", failed.FailureReason);
            Assert.Equal(bad.Record.RecNum, failed.FailedEventIndex);
            var newest = (await tenant.GetResultsAsync(_agentIds[agent], 1))[0];
            Assert.Equal(("contraindicated", bad.Record.RecNum), (newest.Status, newest.EventIndex));
        }
    }

    [Fact]
    public async Task BothModes_PcrExtendedBehindTheLog_FailedAndEveryRevocationAnnouncedWithItsState()
    {
        var tenant = Tenant();
        await tenant.AddPolicyAsync(TestPolicies.Document(digests: [AllowedImage]));
        await tenant.AddAgentAsync(new AddAgentRequest(_agentIds[Pull], "prod", null));
        await tenant.AddAgentAsync(new AddAgentRequest(_agentIds[Push], "prod", null, AttestationModes.Push));
        foreach (var id in _agentIds)
            await WaitForStateAsync(tenant, id, AgentStates.Attested);

        var reasons = new Dictionary<int, string>();
        foreach (var agent in new[] { Pull, Push })
        {
            // Stopped, the agent becomes Unreachable; meanwhile its launch PCR is extended outside the agent.
            await _agents[agent].StopAsync();
            await WaitForStateAsync(tenant, _agentIds[agent], AgentStates.Unreachable);
            using (var tpm = _tpms[agent].OpenDevice())
                await tpm.ExtendPcrAsync(LaunchPcr, [(TrustLaunch.Tpm.TpmAlgId.Sha256, new byte[32])]);
            await _agents[agent].StartAsync();

            var failed = await WaitForStateAsync(tenant, _agentIds[agent], AgentStates.Failed);
            Assert.StartsWith($"log and PCR disagree: PCR {LaunchPcr} does not match the event log: expected ", failed.FailureReason, StringComparison.Ordinal);
            Assert.EndsWith("; the PCR was extended outside the log or the log lost entries", failed.FailureReason, StringComparison.Ordinal);
            Assert.Equal("contraindicated", (await tenant.GetResultsAsync(_agentIds[agent], 1))[0].Status);
            reasons[agent] = failed.FailureReason!;
        }

        using var key = PemPayloadVerifier.FromPem(await Client(ServiceRoles.Tenant, _verifierPort).GetStringAsync("v1/keys"));
        var notifications = await Eventually.WaitAsync(() => Task.FromResult(_webhook.Bodies.Count >= 4 ? _webhook.Bodies.ToList() : null),
            () => $"{_webhook.Bodies.Count} webhook notifications arrived, expected 4");
        var received = notifications.Select(body =>
        {
            var jws = Jws.Parse(body);
            Assert.True(key.Verify(jws.Algorithm, jws.SigningInput, jws.Signature));
            return JsonSerializer.Deserialize(jws.Payload, ContractsJsonContext.Default.RevocationNotification)!;
        }).ToList();
        foreach (var agent in new[] { Pull, Push })
        {
            var mine = received.Where(n => n.AgentId == _agentIds[agent]).ToList();
            Assert.Equal([AgentStates.Unreachable, AgentStates.Failed], mine.Select(n => n.State));
            Assert.Equal(reasons[agent], mine[1].Reason);
        }
        Assert.StartsWith("no evidence arrived by its deadline ", received.Single(n => n.AgentId == _agentIds[Push] && n.State == AgentStates.Unreachable).Reason,
            StringComparison.Ordinal);
    }

    private async Task<ServiceProcess> StartAsync(string role, int port, string tlsName, params string[] arguments)
    {
        var process = await ServiceProcess.StartAsync(role,
            [.. arguments, "--data-dir", Path.Combine(_directory, tlsName), "--tls-dir", Pki, "--tls-name", tlsName],
            new Uri($"https://127.0.0.1:{port}/healthz"), Client(ServiceRoles.Tenant, port, role), Path.Combine(_directory, tlsName + ".log"));
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

    private async Task<MeasuredEvent> MeasureAsync(int agent, string operation, string content, string? goldenValue = null)
    {
        using var local = UnixSocketHttp.Create(Path.Combine(_directory, $"agent-{agent}", "agent.sock"));
        using var document = JsonDocument.Parse(content);
        using var response = await local.PostAsJsonAsync("v1/measure", new MeasureRequest(operation, document.RootElement.Clone(), goldenValue),
            ContractsJsonContext.Default.MeasureRequest);
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", CancellationToken.None);
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.MeasuredEvent))!;
    }

    private static Task<AgentStatus> WaitForStateAsync(VerifierClient tenant, string agentId, string state) =>
        Eventually.WaitAsync(async () => await tenant.GetAgentAsync(agentId) is { } s && s.State == state ? s : null,
            () => $"agent {agentId} never reached {state}");

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
