using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Hsm;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Nodes whose agents attest to the broker themselves (<c>serve agent --kbs</c>), among real processes: a registrar,
/// a verifier quoting every <see cref="QuoteInterval"/> under policy <c>prod</c>, two agents each on its own swtpm, a
/// SoftHSM wrap key and <c>trustlaunch serve kbs</c>. Node 0 reaches the broker through
/// <see cref="Proxy"/> (pass-through until a test tampers) and stays Attested; tests that fail a node use node 1,
/// which reaches the broker directly.
/// </summary>
public sealed class KbsEndToEndFixture : IAsyncLifetime
{
    public const string Collection = "kbs-end-to-end";
    public const string VerifierPolicy = "prod";
    public static readonly TimeSpan QuoteInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan StandingCache = TimeSpan.FromSeconds(0.5);

    private readonly SoftHsmFixture _hsm = new();
    private VerifierFleet _fleet = null!;
    private FleetVerifier _verifier = null!;
    private ServiceProcess? _kbs;

    public EndToEndTamperingProxy Proxy { get; private set; } = null!;
    public int Port { get; private set; }
    public string BrokerUrl => $"https://127.0.0.1:{Port}";
    public string TlsDirectory => _fleet.TlsDirectory;
    public string Directory => _fleet.Deployment.Directory;
    public IReadOnlyList<FleetNode> Nodes => _fleet.Nodes;
    public VerifierClient Tenant => _fleet.Tenant(_verifier);

    public async Task InitializeAsync()
    {
        Port = FreePorts.FindPair();
        var proxyPort = FreePorts.FindPair();
        while (Math.Abs(proxyPort - Port) < 2)
            proxyPort = FreePorts.FindPair();
        // The agents reach neither until a resource is asked for: both start once the fleet's CA exists.
        _fleet = new VerifierFleet(2, new AgentDeployment { AgentArguments = ["--kbs", $"https://127.0.0.1:{proxyPort}"] })
        {
            NodeArguments = ["--kbs", BrokerUrl],
        };
        await _fleet.InitializeAsync();
        Proxy = await EndToEndTamperingProxy.StartAsync(TlsDirectory, proxyPort, Port);
        _verifier = await _fleet.StartVerifierAsync("verifier-kbs-e2e", "--quote-interval", QuoteInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        await Tenant.AddPolicyAsync(new PolicyDocument(VerifierPolicy, new Dictionary<string, string>(), [], [], [], LaunchPcr.Default, new Dictionary<int, string>()));
        foreach (var node in Nodes)
            await Tenant.AddAgentAsync(new AddAgentRequest(node.AgentId, VerifierPolicy, null));
        foreach (var node in Nodes)
            await WaitForStateAsync(node, AgentStates.Attested);
        await StartBrokerAsync();
    }

    private async Task StartBrokerAsync()
    {
        await _hsm.InitializeAsync();
        using (var session = _hsm.OpenSession())
            session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = KbsFixture.WrapKeyLabel, Usage = HsmKeyUsage.Encrypt });
        var pinFile = Path.Combine(Directory, "hsm.pin");
        await File.WriteAllTextAsync(pinFile, SoftHsmFixture.UserPinText);
        var signingKey = Path.Combine(Directory, "kbs-token.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(signingKey, ec.ExportPkcs8PrivateKeyPem());
        _kbs = await ServiceProcess.StartAsync("kbs",
        [
            "--data-dir", Path.Combine(Directory, "kbs"), "--tls-dir", TlsDirectory, "--signing-key", signingKey,
            "--wrap-key", $"pkcs11:token={_hsm.TokenLabel};object={KbsFixture.WrapKeyLabel}?pin-source=file:{pinFile}",
            "--listen", $"127.0.0.1:{Port}", "--admin-listen", $"127.0.0.1:{Port + 1}",
            "--registrar", _fleet.RegistrarManagementUrl, "--verifier", $"https://127.0.0.1:{_verifier.TenantPort}",
            "--standing-cache", StandingCache.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ], new Uri($"{BrokerUrl}/readyz"), TestCa.AnonymousClient(TlsDirectory, Port), Path.Combine(Directory, "kbs.log"));
        var policy = Path.Combine(Directory, "resource-policy.json");
        await File.WriteAllTextAsync(policy, $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]}]}""");
        (await CliAsync("kbs", "policy", "put", policy, "--kbs-admin", $"https://127.0.0.1:{Port + 1}", "--tls-dir", TlsDirectory)).EnsureSuccess("kbs policy put");
    }

    /// <summary>Stores <paramref name="bytes"/> at <paramref name="path"/> with <c>trustlaunch kbs resource put</c>.</summary>
    public async Task PutResourceAsync(string path, byte[] bytes)
    {
        var file = Path.Combine(Directory, "resource-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, bytes);
        (await CliAsync("kbs", "resource", "put", path, "--file", file, "--kbs-admin", $"https://127.0.0.1:{Port + 1}", "--tls-dir", TlsDirectory))
            .EnsureSuccess("kbs resource put " + path);
        File.Delete(file);
    }

    /// <summary><c>trustlaunch kbs get-resource ARGUMENTS --agent-socket</c> of <paramref name="node"/>'s agent.</summary>
    public Task<ProcessResult> GetResourceAsync(FleetNode node, params string[] arguments) =>
        CliAsync(["kbs", "get-resource", .. arguments, "--agent-socket", SocketOf(node)]);

    public static Task<ProcessResult> CliAsync(params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        return ProcessRunner.RunAsync(fileName, [.. prefix, .. arguments]);
    }

    public async Task<IReadOnlyList<CelRecord>> ReadLogAsync(FleetNode node)
    {
        using var local = UnixSocketHttp.Create(SocketOf(node));
        return (await local.GetFromJsonAsync("/v1/log", ContractsJsonContext.Default.IReadOnlyListCelRecord))!;
    }

    /// <summary>Measures an event on <paramref name="node"/> behind the launcher's back (its local socket).</summary>
    public async Task MeasureAsync(FleetNode node, string operation, string contentJson)
    {
        using var local = UnixSocketHttp.Create(SocketOf(node));
        using var content = JsonDocument.Parse(contentJson);
        using var response = await local.PostAsJsonAsync("/v1/measure", new MeasureRequest(operation, content.RootElement.Clone()), ContractsJsonContext.Default.MeasureRequest);
        response.EnsureSuccessStatusCode();
    }

    public Task<AgentStatus> WaitForStateAsync(FleetNode node, string state)
    {
        ArgumentNullException.ThrowIfNull(node);
        var tenant = Tenant;
        return Eventually.WaitAsync(async () => await tenant.GetAgentAsync(node.AgentId) is { } s && s.State == state ? s : null,
            () => $"agent {node.AgentId} {state}: not reached in time");
    }

    private static string SocketOf(FleetNode node)
    {
        var arguments = node.Process.Arguments.ToList();
        return Path.Combine(arguments[arguments.IndexOf("--data-dir") + 1], "agent.sock");
    }

    public async Task DisposeAsync()
    {
        if (_kbs is not null)
            await _kbs.DisposeAsync();
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        if (_fleet is not null)
            await _fleet.DisposeAsync();
    }
}

[CollectionDefinition(KbsEndToEndFixture.Collection)]
public sealed class KbsEndToEndCollection : ICollectionFixture<KbsEndToEndFixture>;
