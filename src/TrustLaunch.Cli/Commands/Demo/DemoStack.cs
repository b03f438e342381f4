using System.Diagnostics;
using System.Net.Sockets;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// Everything the demo runs, on loopback under one directory: a CA and a certificate per role (<c>tls/</c>), a swtpm
/// provisioned with an EK certificate (<c>tpm/</c>), a SoftHSM token (<c>softhsm/</c>), docker-registry
/// (<c>registry/</c>), and <c>trustlaunch serve registrar|verifier|agent</c> (their data dirs); the node's content
/// store and containers in <c>node/</c>, every log in <c>logs/</c>. Each child's pid goes to <c>processes</c> as it
/// starts, so <see cref="DemoCleanup"/> can stop them all, now or after <c>--keep</c>.
/// </summary>
internal sealed class DemoStack(string directory) : IDisposable
{
    private readonly Dictionary<string, TlsIdentity> _identities = [];

    public const string TokenLabel = "trustlaunch-demo";
    public const string PublisherKeyLabel = "golden-publisher";
    public const string ProcessesFile = "processes";

    public string Directory { get; } = directory;
    public string AgentId { get; } = Guid.NewGuid().ToString();
    public string TlsDirectory => Path.Combine(Directory, "tls");

    /// <summary>The demo CA's key, apart from <see cref="TlsDirectory"/> that the services read.</summary>
    public string CaKeyDirectory => Path.Combine(Directory, "ca");
    public string NodeDataDirectory => Path.Combine(Directory, "node");
    public string AgentDataDirectory => Path.Combine(Directory, "agent");
    public string AgentSocket => Path.Combine(AgentDataDirectory, "agent.sock");
    public string SoftHsmDirectory => Path.Combine(Directory, "softhsm");
    public string SoftHsmConfig => Path.Combine(SoftHsmDirectory, "softhsm2.conf");
    public string UserPinFile => Path.Combine(SoftHsmDirectory, "user.pin");
    public string SoPinFile => Path.Combine(SoftHsmDirectory, "so.pin");
    public string PublisherPublicKey => Path.Combine(Directory, "publisher.pub.pem");
    public string LogDirectory => Path.Combine(Directory, "logs");
    public int TpmPort { get; private set; }
    public int RegistryPort { get; private set; }
    public int RegistrarPort { get; private set; }
    public int VerifierPort { get; private set; }
    public int AgentPort { get; private set; }
    public string Registry => $"127.0.0.1:{RegistryPort}";
    public string Tpm => $"swtpm:host=127.0.0.1,port={TpmPort}";
    public string TenantUrl => $"https://127.0.0.1:{VerifierPort + 1}";
    public string VerifierAgentUrl => $"https://127.0.0.1:{VerifierPort}";

    /// <summary>The key URI <c>golden publish</c> signs with: the private key in the token, PIN from a file.</summary>
    public string PublisherKeyUri => $"pkcs11:token={TokenLabel};object={PublisherKeyLabel};type=private?pin-source=file:{UserPinFile}";

    /// <summary>What a trustlaunch command needs to find this deployment (what <c>source DIR/env</c> sets).</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["TRUSTLAUNCH_DATA"] = NodeDataDirectory,
        ["TRUSTLAUNCH_TPM"] = Tpm,
        ["TRUSTLAUNCH_AGENT_SOCKET"] = AgentSocket,
        ["TRUSTLAUNCH_AGENT_ID"] = AgentId,
        ["TRUSTLAUNCH_TRUST"] = PublisherPublicKey,
        ["TRUSTLAUNCH_TLS_DIR"] = TlsDirectory,
        ["TRUSTLAUNCH_VERIFIER"] = TenantUrl,
        ["TRUSTLAUNCH_VERIFIER_AGENT_URL"] = VerifierAgentUrl,
        ["SOFTHSM2_CONF"] = SoftHsmConfig,
    };

    public void CreateCertificates()
    {
        using var ca = CertificateAuthority.Init(TlsDirectory, CaKeyDirectory, "TrustLaunch demo CA");
        // Everything runs on loopback: the servers answer for 127.0.0.1, the tenant gets no address at all.
        foreach (var role in ServiceRoles.All)
            ca.Issue(role, role, ServiceRoles.IsServer(role) ? SubjectAltNames.Parse(["IP:127.0.0.1"]) : null);
    }

    /// <summary>A TPM with an EK and its certificate (signed by swtpm_setup's local CA), like a real one from a manufacturer.</summary>
    public async Task StartTpmAsync(CancellationToken cancellationToken)
    {
        var state = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tpm")).FullName;
        await DemoTools.RunAsync("swtpm_setup", ["--tpm2", "--tpmstate", state, "--createek", "--create-ek-cert", "--create-platform-cert",
            "--pcr-banks", "sha1,sha256", "--overwrite"], cancellationToken: cancellationToken).ConfigureAwait(false);
        TpmPort = await StartOnFreePortsAsync("swtpm", port => Command("swtpm", "socket", "--tpm2", "--tpmstate", $"dir={state}",
            "--server", $"type=tcp,port={port},bindaddr=127.0.0.1", "--ctrl", $"type=tcp,port={port + 1},bindaddr=127.0.0.1",
            "--flags", "not-need-init,startup-clear"), port => ListeningAsync(port), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A SoftHSM2 token of the demo's own (its config points at <c>softhsm/tokens</c>) with random PINs in 0600 files.</summary>
    public void WriteSoftHsmConfig()
    {
        var tokens = System.IO.Directory.CreateDirectory(Path.Combine(SoftHsmDirectory, "tokens")).FullName;
        File.WriteAllText(SoftHsmConfig, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n");
        foreach (var file in new[] { UserPinFile, SoPinFile })
            KeyFiles.WritePrivate(file, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)) + "\n");
    }

    public async Task StartRegistryAsync(CancellationToken cancellationToken)
    {
        var storage = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "registry")).FullName;
        RegistryPort = await StartOnFreePortsAsync("docker-registry", port =>
        {
            var config = Path.Combine(storage, "config.yml");
            File.WriteAllText(config, $"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {storage}/data\n"
                + $"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: {Guid.NewGuid():N}\n");
            return Command("docker-registry", "serve", config);
        }, port => ListeningAsync(port), cancellationToken).ConfigureAwait(false);
    }

    public async Task StartRegistrarAsync(CancellationToken cancellationToken)
    {
        var ekCa = Path.Combine(Directory, "ek-ca.pem");
        await File.WriteAllTextAsync(ekCa, SwtpmLocalCa.ReadBundle(), cancellationToken).ConfigureAwait(false);
        RegistrarPort = await StartOnFreePortsAsync("registrar", port => Serve(ServiceRoles.Registrar, "--ek-ca", ekCa,
                "--listen", $"127.0.0.1:{port}", "--management-listen", $"127.0.0.1:{port + 1}"),
            port => ReadyAsync(ServiceRoles.Agent, ServiceRoles.Registrar, port), cancellationToken).ConfigureAwait(false);
    }

    public async Task StartVerifierAsync(CancellationToken cancellationToken) =>
        VerifierPort = await StartOnFreePortsAsync("verifier", port => Serve(ServiceRoles.Verifier,
                "--listen", $"127.0.0.1:{port}", "--tenant-listen", $"127.0.0.1:{port + 1}",
                "--registrar", $"https://127.0.0.1:{RegistrarPort + 1}", "--quote-interval", "0.5"),
            port => ReadyAsync(ServiceRoles.Tenant, ServiceRoles.Verifier, port + 1), cancellationToken).ConfigureAwait(false);

    /// <summary>The node agent: registers with the registrar (EK certificate checked, AK proven by credential activation) before it is ready.</summary>
    public async Task StartAgentAsync(CancellationToken cancellationToken) =>
        AgentPort = await StartOnFreePortsAsync("agent", port => Serve(ServiceRoles.Agent, "--agent-id", AgentId, "--tpm", Tpm,
                "--registrar", $"https://127.0.0.1:{RegistrarPort}", "--listen", $"127.0.0.1:{port}"),
            port => ReadyAsync(ServiceRoles.Verifier, ServiceRoles.Agent, port), cancellationToken).ConfigureAwait(false);

    public HttpClient TenantClient() => Client(ServiceRoles.Tenant, ServiceRoles.Verifier, VerifierPort + 1);

    /// <summary><c>trustlaunch ARGUMENTS</c> with <see cref="Environment"/> set, as a user who sourced DEMO/env runs it.</summary>
    public ProcessStartInfo TrustLaunch(IEnumerable<string> arguments)
    {
        var start = SelfExecutable.StartInfo(arguments);
        foreach (var (key, value) in Environment)
            start.Environment[key] = value;
        return start;
    }

    /// <summary>Finds a free pair of loopback ports and starts the child there (retrying if someone took them meanwhile).</summary>
    private async Task<int> StartOnFreePortsAsync(string name, Func<int, ProcessStartInfo> command, Func<int, Task<bool>> ready, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePorts.FindPair();
            var log = Path.Combine(System.IO.Directory.CreateDirectory(LogDirectory).FullName, name + ".log");
            try
            {
                await DemoProcess.StartAsync(name, command(port), log, () => ready(port),
                    pid => File.AppendAllText(Path.Combine(Directory, ProcessesFile), $"{name} {pid}\n"), cancellationToken).ConfigureAwait(false);
                return port;
            }
            catch (CliFailureException) when (attempt < 3 && !FreePorts.IsFree(port))
            {
                // Someone else took the port between the check and the bind: try another pair.
            }
        }
    }

    private ProcessStartInfo Serve(string role, params string[] arguments) =>
        SelfExecutable.StartInfo(["serve", role, "--data-dir", Path.Combine(Directory, role), "--tls-dir", TlsDirectory, .. arguments]);

    private static ProcessStartInfo Command(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return start;
    }

    private static async Task<bool> ListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The <paramref name="serverRole"/> service's <c>/readyz</c> answers 200 to a client with the certificate of <paramref name="clientRole"/>.</summary>
    private async Task<bool> ReadyAsync(string clientRole, string serverRole, int port)
    {
        using var client = Client(clientRole, serverRole, port);
        try
        {
            using var response = await client.GetAsync("/readyz").ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private HttpClient Client(string clientRole, string serverRole, int port)
    {
        if (!_identities.TryGetValue(clientRole, out var identity))
            _identities[clientRole] = identity = TlsIdentity.FromDirectory(TlsDirectory, clientRole);
        return new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{port}/"), serverRole, timeout: TimeSpan.FromSeconds(5));
    }

    public void Dispose()
    {
        foreach (var identity in _identities.Values)
            identity.Dispose();
    }
}
