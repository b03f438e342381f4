using System.Text;
using System.Text.Json;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The workload gateway tests' containers: images published with the fixture's trusted key, granted resources by
/// image digest, run on node 0 through <c>trustlaunch run</c> (real crun containers) into one data directory per
/// test, and removed with <c>rm --force</c> at the end (their overlay mounts would keep the fixture's directory from going).
/// </summary>
public sealed class GatewayWorkloads(KbsEndToEndFixture stack, RegistryFixture registry) : IAsyncDisposable
{
    private readonly string _data = Path.Combine(stack.Directory, "gateway-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<string> _containers = [];

    public FleetNode Node => stack.Nodes[0];

    /// <summary>The <c>--data-dir</c> the containers run from.</summary>
    public string RunDataDir => Path.Combine(_data, "run");

    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Where the container of init <paramref name="pid"/> sees its gateway's socket, reached through its own root.</summary>
    public static string SocketOf(int pid) => $"/proc/{pid}/root/run/trustlaunch/gateway.sock";

    public async Task<PushedImage> PublishAsync(string repository)
    {
        var image = await TestImages.BuildAndPushAsync(registry, repository, "v1",
            new Dictionary<string, byte[]> { ["/etc/image-name"] = Encoding.UTF8.GetBytes(repository + Guid.NewGuid()) });
        (await KbsBrokerStack.CliAsync("golden", "publish", image.Reference, "--key", stack.PublisherKey, "--data-dir", Path.Combine(_data, "publish")))
            .EnsureSuccess("golden publish");
        return image;
    }

    /// <summary>The fixture's rules plus one per grant, letting containers of its digest read its resources; the new version.</summary>
    public Task<int> GrantAsync(params (string Resources, string Digest)[] grants) => stack.GrantToContainersAsync(grants);

    /// <summary><c>trustlaunch run IMAGE --name NAME [--attach] -- busybox sh -c SCRIPT</c>.</summary>
    public Task<ProcessResult> RunAsync(PushedImage image, string name, string script, bool attach = true)
    {
        _containers.Add(name);
        return KbsBrokerStack.CliAsync(["run", image.Reference, "--trust", stack.PublisherPublicKey, "--name", name, .. attach ? new[] { "--attach" } : [],
            "--agent-socket", KbsBrokerStack.SocketOf(Node), "--data-dir", RunDataDir, "--", "/bin/busybox", "sh", "-c", script]);
    }

    public Task<ProcessResult> CommandAsync(params string[] arguments) =>
        KbsBrokerStack.CliAsync([.. arguments, "--agent-socket", KbsBrokerStack.SocketOf(Node), "--data-dir", RunDataDir]);

    /// <summary>The pid of container <paramref name="name"/>'s init, as <c>trustlaunch ps</c> shows it.</summary>
    public async Task<int> PidOfAsync(string name)
    {
        var ps = (await CommandAsync("ps", "--json")).EnsureSuccess("ps");
        return JsonDocument.Parse(ps.StandardOutput).RootElement.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("pid").GetInt32();
    }

    /// <summary>The messages the agent of node 0 logged (its JSON console lines).</summary>
    public IReadOnlyList<string> AgentMessages() => [.. Node.Process.ReadLog().Split('\n').Select(MessageOf).OfType<string>()];

    private static string? MessageOf(string line)
    {
        try
        {
            return line.StartsWith('{') && JsonDocument.Parse(line).RootElement.TryGetProperty("Message", out var message) ? message.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // not one of the logger's lines
        }
    }

    /// <summary>Starts the agent again if a test left it down, then removes the test's containers.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Node.Process.ProcessId is null)
            await Node.Process.StartAsync();
        foreach (var name in _containers)
            (await CommandAsync("rm", "--force", name)).EnsureSuccess("rm --force " + name);
    }
}
