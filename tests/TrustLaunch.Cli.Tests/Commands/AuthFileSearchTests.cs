using System.Text;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Registry credentials from each place podman, skopeo and docker keep them, found without <c>--authfile</c>:
/// <c>$REGISTRY_AUTH_FILE</c>, <c>$XDG_RUNTIME_DIR/containers/auth.json</c> (root without it:
/// <c>/run/containers/0/auth.json</c>) and <c>~/.docker/config.json</c>, against docker-registry with htpasswd auth.
/// The CLI runs as its own process with those variables pointing into a scratch directory, never at the machine's files.
/// </summary>
[Trait("Category", "Slow")]
public sealed class AuthFileSearchTests(BasicAuthImageFixture fixture, LaunchAgentFixture agent)
    : IClassFixture<BasicAuthImageFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string AuthJson(string key) =>
        $$"""{"auths":{"{{key}}":{"auth":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.Username}:{RegistryFixture.Password}"))}}"} } }""";

    private string Write(string relative, string text)
    {
        var path = _scratch[relative];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>An environment where only what the test writes can be found: empty runtime and home directories.</summary>
    private Dictionary<string, string> Environment(string name)
    {
        var runtime = Directory.CreateDirectory(_scratch[$"{name}-run"]).FullName;
        var home = Directory.CreateDirectory(_scratch[$"{name}-home"]).FullName;
        return new Dictionary<string, string> { ["REGISTRY_AUTH_FILE"] = "", ["XDG_RUNTIME_DIR"] = runtime, ["HOME"] = home };
    }

    private Task<CliResult> PullAsync(Dictionary<string, string> environment) =>
        CliProcess.RunAsync(environment, "image", "pull", fixture.Image.Reference, "--data-dir", _scratch[$"data-{Guid.NewGuid():N}"]);

    [Fact]
    public async Task Pull_NoAuthFileAnywhere_Unauthorized()
    {
        var pull = await PullAsync(Environment("none"));

        Assert.Equal(1, pull.ExitCode);
        Assert.StartsWith($"error: manifest {fixture.Image.Reference}: 401 Unauthorized", pull.Stderr);
    }

    [Fact]
    public async Task Pull_RegistryAuthFileVariable_Authenticates()
    {
        var environment = Environment("variable");
        environment["REGISTRY_AUTH_FILE"] = Write("elsewhere/creds.json", AuthJson(fixture.Registry.Host));

        (await PullAsync(environment)).EnsureSuccess();
    }

    [Fact]
    public async Task Pull_ContainersAuthJsonInTheRuntimeDirectory_Authenticates()
    {
        var environment = Environment("runtime");
        Write(Path.Combine(Path.GetFileName(environment["XDG_RUNTIME_DIR"]), "containers", "auth.json"), AuthJson(fixture.Registry.Host));

        (await PullAsync(environment)).EnsureSuccess();
    }

    [Fact]
    public async Task Pull_DockerConfigInHome_Authenticates()
    {
        var environment = Environment("docker");
        Write(Path.Combine(Path.GetFileName(environment["HOME"]), ".docker", "config.json"), AuthJson($"https://{fixture.Registry.Host}/v1/"));

        (await PullAsync(environment)).EnsureSuccess();
    }

    [Fact]
    public async Task Run_RegistryAuthFileOfTheCaller_GivenToTheAgentWhichPullsWithIt()
    {
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        var authFile = Write("caller/auth.json", AuthJson(fixture.Registry.Host));
        (await CliHarness.RunAsync("golden", "publish", fixture.Image.Reference, "--key", priv, "--authfile", authFile, "--data-dir", _scratch["publish"])).EnsureSuccess();
        var environment = Environment("run");
        var since = (await agent.Deployment.GetInfoAsync()).LogLength;
        var denied = await CliProcess.RunAsync(environment, "run", fixture.Image.Reference, "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath,
            "--trust", pub, "--name", "no-credentials");
        environment["REGISTRY_AUTH_FILE"] = authFile;

        var run = await CliProcess.RunAsync(environment, "run", fixture.Image.Reference, "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath,
            "--trust", pub, "--name", "with-credentials", "--attach", "--", "/bin/busybox", "true");

        Assert.Equal(1, denied.ExitCode);
        Assert.Contains("401 Unauthorized", denied.Stderr);
        run.EnsureSuccess();
        var verified = (await agent.Deployment.ReadLogAsync(since)).Select(r => EventLine.Parse(r.Content)).Single(e => e.Operation == LaunchEvents.ImageVerified);
        Assert.Equal(fixture.Image.ManifestDigest, verified.Content.GetProperty("digest").GetString());
        (await CliHarness.RunAsync("rm", "--data-dir", _scratch["data"], "--agent-socket", agent.Deployment.SocketPath, "with-credentials")).EnsureSuccess();
    }
}
