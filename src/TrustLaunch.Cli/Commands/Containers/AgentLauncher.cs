using System.CommandLine;
using System.Net;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>
/// The container commands as clients of the node daemon: the agent launches, supervises and measures; the CLI only
/// asks over the agent's unix socket and shows the answer. The agent's refusals come back as they would have here:
/// an image refused as <see cref="ImageNotVerifiedException"/> (exit 3, <c>NOT verified: …</c>), a bad request as a
/// usage error, any other failure with the agent's one-line reason.
/// </summary>
public sealed class AgentLauncher : IDisposable
{
    private readonly LauncherClient _client;

    private AgentLauncher(string socket, string dataDir)
    {
        Socket = socket;
        DataDir = dataDir;
        _client = LauncherClient.ForSocket(socket);
    }

    public string Socket { get; }

    /// <summary>The launcher data directory the agent works in for this command (absolute).</summary>
    public string DataDir { get; }

    public static AgentLauncher Open(ParseResult parse, ContainerOptions containers)
    {
        if (parse.GetResult(containers.LaunchLog) is { Implicit: false })
            throw new CliUsageException("--launch-log is the standalone launch log: it needs --standalone");
        var socket = containers.AgentSocketPath(parse);
        if (!File.Exists(socket))
            throw new CliFailureException($"no agent socket at {socket}: start `trustlaunch serve agent` (it launches and measures containers), pass --agent-socket, or launch without an agent with --standalone");
        return new AgentLauncher(socket, Path.GetFullPath(containers.DataDir(parse)));
    }

    public async Task<T> CallAsync<T>(Func<LauncherClient, Task<T>> call)
    {
        try
        {
            return await call(_client).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliFailureException($"cannot reach the agent at {Socket}: {e.Message}");
        }
        catch (ServiceProblemException e) when (e.Type == LauncherProblemTypes.NotVerified)
        {
            const string prefix = "NOT verified: ";
            var detail = e.Detail ?? "";
            throw new ImageNotVerifiedException(detail.StartsWith(prefix, StringComparison.Ordinal) ? detail[prefix.Length..] : detail);
        }
        catch (ServiceProblemException e) when (e.Status == HttpStatusCode.BadRequest)
        {
            throw new CliUsageException(e.Detail ?? e.Message);
        }
        catch (ServiceProblemException e)
        {
            throw new CliFailureException(e.Detail ?? e.Message);
        }
    }

    public Task CallAsync(Func<LauncherClient, Task> call) => CallAsync(async client =>
    {
        await call(client).ConfigureAwait(false);
        return true;
    });

    public void Dispose() => _client.Dispose();
}
