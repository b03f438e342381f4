using System.Net.Sockets;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands.Config;

/// <summary>
/// A real <c>serve registrar</c> process configured by its settings file: it listens where the file says, keeps its
/// state in the file's data dir, and a flag on the command line still wins over the file.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfigServeTests : IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private TlsIdentity? _probeIdentity;

    private string Tls => _scratch["tls"];

    public async Task InitializeAsync()
    {
        string[] dirs = ["--dir", Tls, "--key-dir", _scratch["ca"]];
        (await CliHarness.RunAsync(["ca", "init", .. dirs])).EnsureSuccess();
        (await CliHarness.RunAsync(["ca", "issue", "registrar", "registrar", "--san", "IP:127.0.0.1", .. dirs])).EnsureSuccess();
        (await CliHarness.RunAsync(["ca", "issue", ServiceRoles.Tenant, ServiceRoles.Tenant, .. dirs])).EnsureSuccess();
    }

    public Task DisposeAsync()
    {
        _probeIdentity?.Dispose();
        _scratch.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task ServeRegistrar_FromConfigFile_ListensAndKeepsStateWhereTheFileSays_FlagWinsOverFile()
    {
        var port = FreePorts.FindPair();
        var fileManagement = FreePorts.FindPair();
        var flagManagement = port + 1;
        var data = _scratch["state/registrar"];
        var file = _scratch["registrar.yaml"];
        await File.WriteAllTextAsync(file, $"""
            # the registrar of this test
            data-dir: {data}
            tls-dir: {Tls}
            listen: 127.0.0.1:{port}
            management-listen: 127.0.0.1:{fileManagement}
            require-ek-cert: false
            store: sqlite

            """);
        _probeIdentity = TlsIdentity.FromDirectory(Tls, ServiceRoles.Tenant);
        var probe = new ServiceHttpClientFactory(_probeIdentity).Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Registrar);

        await using var registrar = await ServiceProcess.StartAsync(ServiceRoles.Registrar,
            ["--config", file, "--management-listen", $"127.0.0.1:{flagManagement}"],
            new Uri($"https://127.0.0.1:{port}/readyz"), probe, _scratch["registrar.log"]);

        Assert.True(File.Exists(Path.Combine(data, "registrar.db")), registrar.ReadLog());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.True(await AcceptsAsync(flagManagement), "the --management-listen flag did not win over the file");
        Assert.False(await AcceptsAsync(fileManagement), "the file's management-listen was used despite the flag");
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
