using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Hsm;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The broker among real processes: a registrar, two agents each on its own swtpm, a verifier quoting every
/// <see cref="QuoteInterval"/> and holding both agents Attested under policy <c>prod</c>, a SoftHSM token with the
/// AES-256 wrap key, and <c>trustlaunch serve kbs</c> under <see cref="ResourcePolicyJson"/>. What a stack adds
/// (agent options, a proxy, broker options) comes from the fixture that derives from it.
/// </summary>
public abstract class KbsBrokerStack : IAsyncLifetime
{
    public const string VerifierPolicy = "prod";
    public static readonly TimeSpan QuoteInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan StandingCache = TimeSpan.FromSeconds(0.5);

    private readonly SoftHsmFixture _hsm = new();
    private VerifierFleet _fleet = null!;
    private FleetVerifier _verifier = null!;

    public ServiceProcess Kbs { get; private set; } = null!;
    public int Port { get; private set; }
    public int AdminPort => Port + 1;
    public string BrokerUrl => $"https://127.0.0.1:{Port}";
    public string TlsDirectory => _fleet.TlsDirectory;
    public string Directory => _fleet.Deployment.Directory;
    public IReadOnlyList<FleetNode> Nodes => _fleet.Nodes;
    public VerifierClient Tenant => _fleet.Tenant(_verifier);
    public string RegistrarManagementUrl => _fleet.RegistrarManagementUrl;
    public string VerifierTenantUrl => $"https://127.0.0.1:{_verifier.TenantPort}";

    /// <summary>The resource policy the broker starts with.</summary>
    public abstract string ResourcePolicyJson { get; }

    /// <summary>The fleet of two nodes, made once <see cref="Port"/> (the broker's) is chosen.</summary>
    protected virtual VerifierFleet CreateFleet() => new(2);

    /// <summary>Runs once the fleet's CA exists, before the verifier starts.</summary>
    protected virtual Task FleetReadyAsync() => Task.CompletedTask;

    /// <summary>The verifier policy every node is under: by default it trusts no publisher, so no launch keeps a node Attested.</summary>
    protected virtual PolicyDocument VerifierPolicyDocument() =>
        new(VerifierPolicy, new Dictionary<string, string>(), [], [], [], LaunchPcr.Default, new Dictionary<int, string>());

    /// <summary>Writes a new P-256 key pair: the PKCS#8 private key and the SubjectPublicKeyInfo public key, both PEM.</summary>
    protected static void WriteKeyPair(string privateKeyPath, string publicKeyPath)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        File.WriteAllText(privateKeyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicKeyPath, key.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>Options <c>serve kbs</c> gets besides the ones every stack uses.</summary>
    protected virtual IReadOnlyList<string> BrokerArguments => [];

    public async Task InitializeAsync()
    {
        Port = FreePorts.FindPair();
        _fleet = CreateFleet();
        await _fleet.InitializeAsync();
        await FleetReadyAsync();
        _verifier = await _fleet.StartVerifierAsync("verifier-" + GetType().Name.ToLowerInvariant(),
            "--quote-interval", QuoteInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        var tenant = Tenant;
        await tenant.AddPolicyAsync(VerifierPolicyDocument());
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
        Kbs = await ServiceProcess.StartAsync("kbs",
        [
            "--data-dir", Path.Combine(Directory, "kbs"), "--tls-dir", TlsDirectory, "--signing-key", signingKey,
            "--wrap-key", $"pkcs11:token={_hsm.TokenLabel};object={KbsFixture.WrapKeyLabel}?pin-source=file:{pinFile}",
            "--listen", $"127.0.0.1:{Port}", "--admin-listen", $"127.0.0.1:{AdminPort}",
            "--registrar", _fleet.RegistrarManagementUrl, "--verifier", VerifierTenantUrl,
            "--standing-cache", StandingCache.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            .. BrokerArguments,
        ], new Uri($"{BrokerUrl}/readyz"), Client(), Path.Combine(Directory, "kbs.log"));
        var policy = Path.Combine(Directory, "resource-policy.json");
        await File.WriteAllTextAsync(policy, ResourcePolicyJson);
        (await AdminCliAsync("policy", "put", policy)).EnsureSuccess("kbs policy put");
    }

    public virtual async Task DisposeAsync()
    {
        if (Kbs is not null)
            await Kbs.DisposeAsync();
        if (_fleet is not null)
            await _fleet.DisposeAsync();
    }

    /// <summary>An attester's client of the broker: trusts the CA, keeps cookies, no client certificate.</summary>
    public HttpClient Client() => TestCa.AnonymousClient(TlsDirectory, Port);

    /// <summary>Stores <paramref name="bytes"/> at <paramref name="path"/> with <c>trustlaunch kbs resource put</c>.</summary>
    public async Task PutResourceAsync(string path, byte[] bytes)
    {
        var file = Path.Combine(Directory, "resource-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, bytes);
        (await AdminCliAsync("resource", "put", path, "--file", file)).EnsureSuccess("kbs resource put " + path);
        File.Delete(file);
    }

    /// <summary>The stack's rules (<see cref="ResourcePolicyJson"/>) plus one granting <paramref name="resources"/> to containers of image
    /// <paramref name="digest"/>, put as a new policy version; that version.</summary>
    public Task<int> GrantToContainersAsync(string resources, string digest) => GrantToContainersAsync((resources, digest));

    /// <summary>The fixture's rules plus one per grant, each granting its resources to containers of its image digest; the new version.</summary>
    public async Task<int> GrantToContainersAsync(params (string Resources, string Digest)[] grants)
    {
        var policy = JsonNode.Parse(ResourcePolicyJson)!.AsObject();
        foreach (var (resources, digest) in grants)
            policy["rules"]!.AsArray().Add(new JsonObject { ["resources"] = new JsonArray(resources), ["container_images"] = new JsonArray(digest) });
        var file = Path.Combine(Directory, "container-policy-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(file, policy.ToJsonString());
        var put = (await AdminCliAsync("policy", "put", file, "--json")).EnsureSuccess("kbs policy put");
        return JsonDocument.Parse(put.StandardOutput).RootElement.GetProperty("version").GetInt32();
    }

    /// <summary>
    /// <c>trustlaunch secret seal envelope</c> of <paramref name="value"/> under a new KEK stored at <paramref name="kekPath"/>,
    /// signed by <paramref name="signingKey"/> (PEM) under <paramref name="kid"/>.
    /// </summary>
    protected async Task<string> SealEnvelopeAsync(string kekPath, byte[] value, string signingKey, string kid)
    {
        var kek = RandomNumberGenerator.GetBytes(32);
        await PutResourceAsync(kekPath, kek);
        var kekFile = Path.Combine(Directory, "kek-" + Guid.NewGuid().ToString("N"));
        var valueFile = Path.Combine(Directory, "value-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(kekFile, kek);
        await File.WriteAllBytesAsync(valueFile, value);
        try
        {
            return (await CliAsync("secret", "seal", "envelope", "--kek-file", kekFile, "--key-id", "kbs:///" + kekPath, "--file", valueFile,
                "--key", signingKey, "--kid", kid)).EnsureSuccess("secret seal envelope").StandardOutput.Trim();
        }
        finally
        {
            File.Delete(kekFile);
            File.Delete(valueFile);
        }
    }

    /// <summary>Runs <c>trustlaunch kbs ARGUMENTS --kbs-admin … --tls-dir …</c> (kbs-admin certificate).</summary>
    public Task<ProcessResult> AdminCliAsync(params string[] arguments) =>
        CliAsync(["kbs", .. arguments, "--kbs-admin", $"https://127.0.0.1:{AdminPort}", "--tls-dir", TlsDirectory]);

    /// <summary><c>trustlaunch kbs get-resource ARGUMENTS --agent-socket</c> of <paramref name="node"/>'s agent.</summary>
    public Task<ProcessResult> GetResourceAsync(FleetNode node, params string[] arguments) =>
        CliAsync(["kbs", "get-resource", .. arguments, "--agent-socket", SocketOf(node)]);

    public static Task<ProcessResult> CliAsync(params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        return ProcessRunner.RunAsync(fileName, [.. prefix, .. arguments]);
    }

    /// <summary>Evidence from <paramref name="node"/>'s TPM through its attestation API.</summary>
    public async Task<SwtpmAgentEvidence> EvidenceAsync(FleetNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var client = new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, ServiceRoles.Verifier))
            .Create(new Uri($"https://{Argument(node, "--listen")}/"), ServiceRoles.Agent);
        var info = (await client.GetFromJsonAsync("/v1/info", ContractsJsonContext.Default.AgentInfo))!;
        return new SwtpmAgentEvidence(client, info.AkPublic);
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

    public static string SocketOf(FleetNode node) => Path.Combine(Argument(node, "--data-dir"), "agent.sock");

    /// <summary>The value the fleet started <paramref name="node"/>'s agent with for <paramref name="option"/>.</summary>
    private static string Argument(FleetNode node, string option)
    {
        var arguments = node.Process.Arguments;
        var index = arguments.ToList().IndexOf(option);
        return index >= 0 && index + 1 < arguments.Count ? arguments[index + 1] : throw new InvalidOperationException($"agent {node.AgentId} was started without {option}");
    }
}
