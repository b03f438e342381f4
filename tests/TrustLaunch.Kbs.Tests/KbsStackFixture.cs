using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Hsm;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The broker among real processes: a registrar, two agents each on its own swtpm, a verifier quoting every
/// <see cref="QuoteInterval"/> and holding both agents Attested under policy <c>prod</c>, a SoftHSM token with the
/// AES-256 wrap key, and <c>trustlaunch serve kbs</c> (kill -9 and restart with <see cref="Kbs"/>). Node 0 stays
/// Attested; tests that fail a node use node 1.
/// </summary>
public sealed class KbsStackFixture : IAsyncLifetime
{
    /// <summary>The collection whose classes share one stack, one class at a time.</summary>
    public const string Collection = "kbs-stack";

    public static readonly TimeSpan QuoteInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan StandingCache = TimeSpan.FromSeconds(0.5);
    public static readonly TimeSpan MaxAppraisalAge = TimeSpan.FromSeconds(3);
    public const string VerifierPolicy = "prod";

    private readonly VerifierFleet _fleet = new(2);
    private readonly SoftHsmFixture _hsm = new();
    private FleetVerifier _verifier = null!;

    public ServiceProcess Kbs { get; private set; } = null!;
    public int Port { get; private set; }
    public int AdminPort => Port + 1;
    public string TlsDirectory => _fleet.TlsDirectory;
    public string Directory => _fleet.Deployment.Directory;
    public IReadOnlyList<FleetNode> Nodes => _fleet.Nodes;
    public VerifierClient Tenant => _fleet.Tenant(_verifier);
    public string RegistrarManagementUrl => _fleet.RegistrarManagementUrl;
    public string VerifierTenantUrl => $"https://127.0.0.1:{_verifier.TenantPort}";

    public async Task InitializeAsync()
    {
        await _fleet.InitializeAsync();
        _verifier = await _fleet.StartVerifierAsync("verifier-kbs", "--quote-interval", QuoteInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        var tenant = Tenant;
        await tenant.AddPolicyAsync(new PolicyDocument(VerifierPolicy, new Dictionary<string, string>(), [], [], [], Measurement.LaunchPcr.Default,
            new Dictionary<int, string>()));
        foreach (var node in Nodes)
            await tenant.AddAgentAsync(new AddAgentRequest(node.AgentId, VerifierPolicy, null));
        foreach (var node in Nodes)
            await WaitForStateAsync(node, AgentStates.Attested);

        await _hsm.InitializeAsync();
        using (var session = _hsm.OpenSession())
            session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = KbsFixture.WrapKeyLabel, Usage = HsmKeyUsage.Encrypt });
        var pinFile = Path.Combine(Directory, "hsm.pin");
        await File.WriteAllTextAsync(pinFile, SoftHsmFixture.UserPinText);
        var signingKey = Path.Combine(Directory, "kbs-token.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(signingKey, ec.ExportPkcs8PrivateKeyPem());
        Port = FreePorts.FindPair();
        Kbs = await ServiceProcess.StartAsync("kbs",
        [
            "--data-dir", Path.Combine(Directory, "kbs"), "--tls-dir", TlsDirectory, "--signing-key", signingKey,
            "--wrap-key", $"pkcs11:token={_hsm.TokenLabel};object={KbsFixture.WrapKeyLabel}?pin-source=file:{pinFile}",
            "--listen", $"127.0.0.1:{Port}", "--admin-listen", $"127.0.0.1:{AdminPort}",
            "--registrar", _fleet.RegistrarManagementUrl, "--verifier", $"https://127.0.0.1:{_verifier.TenantPort}",
            "--standing-cache", StandingCache.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--max-appraisal-age", MaxAppraisalAge.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ], new Uri($"https://127.0.0.1:{Port}/readyz"), Client(), Path.Combine(Directory, "kbs.log"));
        var policy = Path.Combine(Directory, "resource-policy.json");
        await File.WriteAllTextAsync(policy, ResourcePolicyJson);
        (await AdminCliAsync("policy", "put", policy)).EnsureSuccess("kbs policy put");
    }

    /// <summary>The resource policy the stack starts with: <c>default/key/*</c> to nodes under verifier policy
    /// <c>prod</c>, <c>node1/*/*</c> to node 1 only, <c>team-a/*/*</c> to nodes confined to namespace team-a (none:
    /// <c>prod</c> allows any namespace).</summary>
    public string ResourcePolicyJson => $$"""
        {"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]},{"resources":["node1/*/*"],"agents":["{{Nodes[1].AgentId}}"]},{"resources":["team-a/*/*"],"namespaces":["team-a"]}]}
        """;

    /// <summary>Stores <paramref name="bytes"/> at <paramref name="path"/> with <c>trustlaunch kbs resource put</c>.</summary>
    public async Task PutResourceAsync(string path, byte[] bytes)
    {
        var file = Path.Combine(Directory, "resource-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, bytes);
        (await AdminCliAsync("resource", "put", path, "--file", file)).EnsureSuccess("kbs resource put " + path);
        File.Delete(file);
    }

    public Task DisposeAsync() => DisposeCoreAsync();

    private async Task DisposeCoreAsync()
    {
        if (Kbs is not null)
            await Kbs.DisposeAsync();
        await _fleet.DisposeAsync();
    }

    /// <summary>An attester's client of the broker: trusts the CA, keeps cookies, no client certificate.</summary>
    public HttpClient Client() => TestCa.AnonymousClient(TlsDirectory, Port);

    /// <summary>Evidence from <paramref name="node"/>'s TPM through its attestation API.</summary>
    public async Task<SwtpmAgentEvidence> EvidenceAsync(FleetNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var client = AgentClient(node);
        var info = (await client.GetFromJsonAsync("/v1/info", ContractsJsonContext.Default.AgentInfo))!;
        return new SwtpmAgentEvidence(client, info.AkPublic);
    }

    /// <summary>Measures an event on <paramref name="node"/> behind the launcher's back (its local socket).</summary>
    public async Task MeasureAsync(FleetNode node, string operation, string contentJson)
    {
        using var local = UnixSocketHttp.Create(Path.Combine(Argument(node, "--data-dir"), "agent.sock"));
        using var content = JsonDocument.Parse(contentJson);
        using var response = await local.PostAsJsonAsync("/v1/measure", new MeasureRequest(operation, content.RootElement.Clone()),
            ContractsJsonContext.Default.MeasureRequest);
        response.EnsureSuccessStatusCode();
    }

    public Task<AgentStatus> WaitForStateAsync(FleetNode node, string state)
    {
        ArgumentNullException.ThrowIfNull(node);
        var tenant = Tenant;
        return Eventually.WaitAsync(async () => await tenant.GetAgentAsync(node.AgentId) is { } s && s.State == state ? s : null,
            () => $"agent {node.AgentId} {state}: not reached in time");
    }

    /// <summary>Runs <c>trustlaunch kbs ARGUMENTS --kbs-admin … --tls-dir …</c> (kbs-admin certificate).</summary>
    public Task<ProcessResult> AdminCliAsync(params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        return ProcessRunner.RunAsync(fileName, [.. prefix, "kbs", .. arguments, "--kbs-admin", $"https://127.0.0.1:{AdminPort}", "--tls-dir", TlsDirectory]);
    }

    private HttpClient AgentClient(FleetNode node) =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, ServiceRoles.Verifier))
            .Create(new Uri($"https://{Argument(node, "--listen")}/"), ServiceRoles.Agent);

    /// <summary>The value the fleet started <paramref name="node"/>'s agent with for <paramref name="option"/>.</summary>
    private static string Argument(FleetNode node, string option)
    {
        var arguments = node.Process.Arguments;
        var index = arguments.ToList().IndexOf(option);
        return index >= 0 && index + 1 < arguments.Count ? arguments[index + 1] : throw new InvalidOperationException($"agent {node.AgentId} was started without {option}");
    }
}

[CollectionDefinition(KbsStackFixture.Collection)]
public sealed class KbsStackCollection : ICollectionFixture<KbsStackFixture>;
