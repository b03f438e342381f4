using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.LoadSim.Simulation;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.Fleet;

/// <summary>
/// The load simulator against a real registrar (EK certificates required, from the simulator's EK CA) and verifier,
/// in process over loopback TLS: simulated agents register through the registrar's agent port with software
/// ActivateCredential and are attested through the verifier's normal pull path.
/// </summary>
[Trait("Category", "Slow")]
public sealed class LoadSimulatorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-loadsim-").FullName;
    private readonly VerifierStack _stack;
    private readonly CaBundle _ekCa;

    public LoadSimulatorTests()
    {
        using (EkAuthority.OpenOrCreate(Path.Combine(_work, "ek-ca")))
            _ekCa = CaBundle.Load(Path.Combine(_work, "ek-ca", EkAuthority.CertificateFile));
        _stack = new VerifierStack { EkCa = _ekCa };
    }

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        await _stack.StartVerifierAsync();
    }

    [Theory]
    [InlineData(AttestationModes.Pull)]
    [InlineData(AttestationModes.Push)]
    public async Task Mode_TenAgentsAndOneTamperedLog_TenAttestedWithIncrementalReplayAndTheTamperedOneFailed(string mode)
    {
        using var fleet = SimulatedFleet.Create(new FleetOptions(11, _stack.PkiDirectory, TestCa.KeyDirectory(_stack.PkiDirectory), _work, FreePorts.FindPair(), FleetOptions.DefaultFirstAddress, EventEvery: 2));
        var tampered = fleet.Agents[10];
        tampered.TamperLog = true;
        using var trust = CaBundle.Load(Path.Combine(_stack.PkiDirectory, CertificateAuthority.CertificateFile));
        await using var server = await PullServer.StartAsync(fleet, trust, CancellationToken.None);

        await fleet.RegisterAsync(new RegistrarClient(_stack.Client(ServiceRoles.Agent, _stack.RegistrarAgents)), 4, CancellationToken.None);
        var tenant = _stack.Tenant();
        await tenant.AddPolicyAsync(fleet.Policy("loadsim"));
        await fleet.AddToVerifierAsync(tenant, "loadsim", mode, 4, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var pushers = mode == AttestationModes.Push
            ? fleet.Agents.Select(a => new PushClient(a, new Uri($"https://127.0.0.1:{_stack.VerifierAgents.Address.Port}/"), trust)).ToList()
            : [];
        var pushing = Task.WhenAll(pushers.Select(p => p.RunAsync(TimeSpan.Zero, stop.Token)));

        // Four launch events at start, one more every second quote: more than four verified means incremental replay.
        var honest = fleet.Agents.Take(10).Select(a => a.AgentId).ToHashSet();
        var statuses = await Eventually.WaitAsync(async () =>
        {
            var all = await tenant.ListAgentsAsync();
            return all.Count(s => honest.Contains(s.AgentId) && s is { State: AgentStates.Attested, EventsVerified: > 4 }) == 10
                && all.Any(s => s.AgentId == tampered.AgentId && s.State == AgentStates.Failed) ? all : null;
        }, patience: Patience);
        await stop.CancelAsync();
        await pushing;
        foreach (var pusher in pushers)
            pusher.Dispose();

        var failed = statuses.Single(s => s.AgentId == tampered.AgentId);
        Assert.Equal("broken evidence chain: digest mismatch at recnum 0: the sha256 digest is not SHA-256 of the content", failed.FailureReason);
        Assert.Equal(0, failed.FailedEventIndex);
        Assert.All(statuses.Where(s => honest.Contains(s.AgentId)), s => Assert.Null(s.FailureReason));
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        _ekCa.Dispose();
        Directory.Delete(_work, recursive: true);
    }
}
