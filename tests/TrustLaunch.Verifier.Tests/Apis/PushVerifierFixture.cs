using System.Net;
using Microsoft.AspNetCore.Builder;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Verifier.Tests.Apis;

/// <summary>
/// A real agent on swtpm and its registrar (<see cref="AgentDeployment"/>, the agent serving only its pull API), a
/// verifier in this process on the same CA, and the agent added there in push mode: the tests post challenges and
/// evidence on the agent's behalf with its own TLS certificate. Challenges live <see cref="ChallengeLifetime"/>.
/// </summary>
public sealed class PushVerifierFixture : IAsyncLifetime
{
    public const string OtherAgent = "other-agent";
    public static readonly string AllowedImage = "sha256:" + new string('a', 64);
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromSeconds(4);

    private readonly List<TlsIdentity> _identities = [];
    private WebApplication? _verifier;

    public AgentDeployment Deployment { get; } = new();
    public string AgentId => Deployment.AgentId;
    public int VerifierPort { get; private set; }

    public async Task InitializeAsync()
    {
        await Deployment.InitializeAsync();
        using (var ca = TestCa.Open(Deployment.TlsDirectory))
            ca.IssueLoopback(ServiceRoles.Agent, OtherAgent);
        await Deployment.StartAgentAsync();
        for (var attempt = 0; _verifier is null; attempt++)
        {
            VerifierPort = FreePorts.FindPair();
            var options = new VerifierOptions(Path.Combine(Deployment.Directory, "verifier"),
                new ServiceEndpoint("agents", new IPEndPoint(IPAddress.Loopback, VerifierPort), false),
                new ServiceEndpoint("tenants", new IPEndPoint(IPAddress.Loopback, VerifierPort + 1), true),
                Identity(ServiceRoles.Verifier), new Uri($"https://127.0.0.1:{Deployment.RegistrarPort + 1}/"), TimeSpan.FromSeconds(1), 4, 3, [])
            {
                AgentTimeout = ChallengeLifetime,
            };
            var app = await VerifierApp.BuildAsync(options);
            try
            {
                await app.StartAsync();
                _verifier = app;
            }
            catch (IOException) when (attempt < 5)
            {
                await app.DisposeAsync();
            }
        }
        var tenant = Tenant();
        await tenant.AddPolicyAsync(TestPolicies.Document(digests: [AllowedImage]) with { LaunchPcr = LaunchPcr.Default });
        await WaitAsync(async () => (await Deployment.RegistrarManagement().GetAsync(AgentId))?.Active == true);
        await tenant.AddAgentAsync(new AddAgentRequest(AgentId, "prod", null, AttestationModes.Push));
    }

    public VerifierClient Tenant() => new(Client(ServiceRoles.Tenant, VerifierPort + 1));

    /// <summary>The verifier's agent-facing port with the client certificate <paramref name="name"/> (the agent's own: <c>agent</c>).</summary>
    public PushAttestationClient Push(string name = ServiceRoles.Agent) => new(PushHttp(name));

    public HttpClient PushHttp(string name = ServiceRoles.Agent) => Client(name, VerifierPort);

    /// <summary>The agent's evidence for <paramref name="nonce"/>, from its pull API.</summary>
    public async Task<QuoteEvidence> QuoteAsync(byte[] nonce, AttestationChallenge challenge)
    {
        using var response = await Deployment.GetQuoteAsync(nonce, string.Join(',', challenge.Pcrs), challenge.Since);
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", CancellationToken.None);
        return (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync(response.Content, ContractsJsonContext.Default.QuoteEvidence))!;
    }

    private HttpClient Client(string name, int port) =>
        new ServiceHttpClientFactory(Identity(name)).Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Verifier);

    private TlsIdentity Identity(string name)
    {
        var identity = TlsIdentity.FromDirectory(Deployment.TlsDirectory, name);
        _identities.Add(identity);
        return identity;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the agent never completed registration");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await Deployment.DisposeAsync();
    }
}
