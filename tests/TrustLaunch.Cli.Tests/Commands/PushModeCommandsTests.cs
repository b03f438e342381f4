using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Push mode from the command line: <c>serve agent --push URL</c> on its own swtpm, a verifier process, and
/// <c>agent add --push</c>; the tenant commands show the mode and the node is attested without being polled.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PushModeCommandsTests : IAsyncLifetime
{
    private static readonly int VerifierPort = FreePorts.FindPair();
    private readonly AgentDeployment _deployment = new() { AgentArguments = ["--push", $"https://127.0.0.1:{VerifierPort}"] };
    private ServiceProcess? _verifier;

    public async Task InitializeAsync()
    {
        await _deployment.InitializeAsync();
        await _deployment.StartAgentAsync();
        var tenant = new Hosting.Clients.ServiceHttpClientFactory(TlsIdentity.FromDirectory(_deployment.TlsDirectory, ServiceRoles.Tenant))
            .Create(new Uri($"https://127.0.0.1:{VerifierPort + 1}"), ServiceRoles.Verifier);
        _verifier = await ServiceProcess.StartAsync(ServiceRoles.Verifier,
        [
            "--data-dir", Path.Combine(_deployment.Directory, "verifier"), "--tls-dir", _deployment.TlsDirectory,
            "--listen", $"127.0.0.1:{VerifierPort}", "--tenant-listen", $"127.0.0.1:{VerifierPort + 1}",
            "--registrar", $"https://127.0.0.1:{_deployment.RegistrarPort + 1}", "--quote-interval", "0.3",
        ], new Uri($"https://127.0.0.1:{VerifierPort + 1}/readyz"), tenant, Path.Combine(_deployment.Directory, "verifier.log"));
    }

    private Task<CliResult> Tenant(params string[] args) =>
        CliHarness.RunAsync([.. args, "--verifier", $"https://127.0.0.1:{VerifierPort + 1}", "--tls-dir", _deployment.TlsDirectory,
            "--tls-name", ServiceRoles.Tenant]);

    [Fact]
    public async Task AgentAddPush_ServeAgentPush_AttestedAndShownAsPush()
    {
        var policy = Path.Combine(_deployment.Directory, "prod.json");
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string>(), [], [], [],
            LaunchPcr.Default, new Dictionary<int, string>()), ContractsJsonContext.Default.PolicyDocument));
        (await Tenant("policy", "add", policy)).EnsureSuccess();

        var added = (await Tenant("agent", "add", _deployment.AgentId, "--policy", "prod", "--push")).EnsureSuccess();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        CliResult status;
        while (!(status = (await Tenant("agent", "status", _deployment.AgentId)).EnsureSuccess()).Stdout.Contains($"state:            {AgentStates.Attested}", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the push agent was never attested: {status.Stdout}");
            await Task.Delay(200);
        }
        var json = (await Tenant("agent", "status", _deployment.AgentId, "--json")).EnsureSuccess().Json;
        var list = (await Tenant("agent", "list")).EnsureSuccess();

        Assert.Equal($"agent {_deployment.AgentId} added (push, policy prod v1): Registered\n", added.Stdout);
        Assert.Contains("mode:             push\n", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("evidence due by:  ", status.Stdout, StringComparison.Ordinal);
        Assert.Equal((AttestationModes.Push, ""), (json.GetProperty("mode").GetString(), json.GetProperty("address").GetString()));
        Assert.Matches($"{_deployment.AgentId} +push +prod v1 +Attested", list.Stdout);
    }

    [Fact]
    public async Task AgentAdd_PushWithAddress_UsageError()
    {
        var result = await Tenant("agent", "add", _deployment.AgentId, "--policy", "prod", "--push", "--address", "127.0.0.1:9002");

        Assert.Equal((2, "error: --address and --push exclude each other: a push-mode agent calls the verifier\n"), (result.ExitCode, result.Stderr));
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        await _deployment.DisposeAsync();
    }
}
