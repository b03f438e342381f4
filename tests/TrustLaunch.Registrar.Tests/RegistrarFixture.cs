using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests;

/// <summary>
/// A real registrar process (<c>trustlaunch serve registrar</c>) with its own CA, data dir and loopback ports, EK
/// certificates checked against swtpm's local CA (its issuer and root certificate files given as two <c>--ek-ca</c>,
/// as the README says), and a private swtpm. Besides one certificate per role, a second agent certificate
/// (<see cref="IntruderAgent"/>) for another node.
/// </summary>
public sealed class RegistrarFixture : IAsyncLifetime
{
    /// <summary>swtpm_setup's default swtpm-localca state (/etc/swtpm-localca.conf).</summary>
    public const string SwtpmLocalCa = "/var/lib/swtpm-localca";
    public const string IntruderAgent = "intruder";

    public SwtpmFixture Swtpm { get; } = new();
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-registrar-").FullName;
    public ServiceProcess Registrar { get; private set; } = null!;
    public int AgentPort { get; private set; }
    public int ManagementPort => AgentPort + 1;
    public string TlsDirectory => Path.Combine(Directory, "tls");
    public string DataDirectory => Path.Combine(Directory, "data");

    public async Task InitializeAsync()
    {
        await Swtpm.InitializeAsync();
        using (var ca = TestCa.Init(TlsDirectory))
        {
            foreach (var role in ServiceRoles.All)
                ca.IssueLoopback(role, role);
            ca.IssueLoopback(ServiceRoles.Agent, IntruderAgent);
        }
        for (var attempt = 0; ; attempt++)
        {
            AgentPort = FreePorts.FindPair();
            try
            {
                Registrar = await ServiceProcess.StartAsync("registrar",
                [
                    "--data-dir", DataDirectory, "--tls-dir", TlsDirectory,
                    "--ek-ca", Path.Combine(SwtpmLocalCa, "issuercert.pem"), "--ek-ca", Path.Combine(SwtpmLocalCa, "swtpm-localca-rootca-cert.pem"),
                    "--listen", $"127.0.0.1:{AgentPort}", "--management-listen", $"127.0.0.1:{ManagementPort}",
                ], new Uri($"https://127.0.0.1:{AgentPort}/readyz"), AgentClient(), Path.Combine(Directory, "registrar.log"));
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The port pair was taken meanwhile: try another.
            }
        }
    }

    public HttpClient AgentClient() => Client(ServiceRoles.Agent, AgentPort);

    public HttpClient ManagementClient(string role) => Client(role, ManagementPort);

    public RegistrarClient Agents() => new(AgentClient());

    public RegistrarClient Management(string role = ServiceRoles.Tenant) => new(ManagementClient(role));

    public string CertificatePem(string name) => File.ReadAllText(Path.Combine(TlsDirectory, name + ".crt"));

    /// <summary>Trusts our CA, presents no client certificate.</summary>
    public HttpClient AnonymousClient(int port)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(TlsDirectory, "ca.crt")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build((X509Certificate2)cert!);
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };
    }

    private HttpClient Client(string name, int port) =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(TlsDirectory, name)).Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Registrar);

    public async Task DisposeAsync()
    {
        if (Registrar is not null)
            await Registrar.DisposeAsync();
        await Swtpm.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
