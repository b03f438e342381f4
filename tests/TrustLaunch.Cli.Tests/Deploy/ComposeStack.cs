using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml brought up by podman-compose under a project name of its own, with its own host ports (free
/// ones) and therefore its own containers and volumes, so it never meets a user's stack; <see cref="DisposeAsync"/>
/// tears it down with its volumes. The images are <see cref="PodmanFixture"/>'s (nothing is built here).
/// </summary>
public sealed class ComposeStack(PodmanFixture podman) : IAsyncLifetime
{
    private static readonly string ComposeFile = Path.Combine(RepositoryRoot.Path, "deploy", "compose.yaml");

    public string Project { get; } = "tltest" + Guid.NewGuid().ToString("N")[..8];
    public string AgentId { get; } = Guid.NewGuid().ToString();
    public int RegistryPort { get; } = FreePorts.FindPair();
    public string UpOutput { get; private set; } = "";

    /// <summary>podman-compose 1.0.3 names containers PROJECT_SERVICE_1.</summary>
    public string Container(string service) => $"{Project}_{service}_1";

    public async Task InitializeAsync()
    {
        _environment = ComposeEnvironment();
        var up = await RunComposeAsync("up", "-d", "--no-build");
        UpOutput = up.StandardOutput + up.StandardError;
        up.EnsureSuccess("podman-compose up -d");
    }

    /// <summary>podman exec CONTAINER ARGUMENTS (as <paramref name="user"/> when given).</summary>
    public Task<ProcessResult> ExecAsync(string service, string[] arguments, string? user = null)
    {
        string[] options = user is null ? [] : ["--user", user];
        return podman.PodmanAsync(["exec", .. options, Container(service), .. arguments]);
    }

    public Task<ProcessResult> TrustLaunchAsync(string service, params string[] arguments) => ExecAsync(service, ["trustlaunch", .. arguments]);

    /// <summary>Copies a host file into a container, owned by <paramref name="owner"/> with <paramref name="mode"/>.</summary>
    public async Task CopyInAsync(string service, string file, string destination, string owner, string mode)
    {
        (await podman.PodmanAsync("cp", file, $"{Container(service)}:{destination}")).EnsureSuccess("podman cp");
        (await ExecAsync(service, ["sh", "-c", $"chown {owner} '{destination}' && chmod {mode} '{destination}'"], "root")).EnsureSuccess("chown in the container");
    }

    /// <summary>Waits until the service's HEALTHCHECK passes (podman runs health checks from systemd timers, which this
    /// machine has none of, so the test runs them itself).</summary>
    public Task WaitHealthyAsync(string service) =>
        Eventually.WaitAsync(async () => (await podman.PodmanAsync("healthcheck", "run", Container(service))).ExitCode == 0 ? "" : null,
            () => $"{service} never became healthy; its log: {Logs(service)}", TimeSpan.FromMinutes(3));

    public string Logs(string service) =>
        podman.PodmanAsync("logs", "--tail", "30", Container(service)).GetAwaiter().GetResult() is var r ? r.StandardOutput + r.StandardError : "";

    /// <summary>Free host ports for every published one, the test images, the agent id.</summary>
    private Dictionary<string, string> ComposeEnvironment()
    {
        static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var environment = new Dictionary<string, string>(podman.Environment)
        {
            ["TRUSTLAUNCH_IMAGES"] = PodmanFixture.Images,
            ["TRUSTLAUNCH_TAG"] = PodmanFixture.Tag,
            ["TRUSTLAUNCH_AGENT_ID"] = AgentId,
            ["TRUSTLAUNCH_REGISTRY_PORT"] = Text(RegistryPort),
            ["TRUSTLAUNCH_AGENT_PORT"] = Text(FreePorts.FindPair()),
        };
        foreach (var (first, second) in new[] { ("REGISTRAR", "REGISTRAR_MANAGEMENT"), ("VERIFIER", "VERIFIER_TENANT"), ("KBS", "KBS_ADMIN") })
        {
            var port = FreePorts.FindPair();
            environment[$"TRUSTLAUNCH_{first}_PORT"] = Text(port);
            environment[$"TRUSTLAUNCH_{second}_PORT"] = Text(port + 1);
        }
        return environment;
    }

    private Dictionary<string, string> _environment = [];

    private Task<ProcessResult> RunComposeAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("podman-compose", ["-p", Project, "-f", ComposeFile, .. arguments], _environment, RepositoryRoot.Path, TimeSpan.FromMinutes(5));

    public async Task DisposeAsync() =>
        (await RunComposeAsync("down", "-v")).EnsureSuccess("podman-compose down -v");
}
