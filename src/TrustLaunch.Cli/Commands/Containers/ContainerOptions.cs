using System.CommandLine;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>Options of the container commands (run, ps, logs, stop, rm): data directory, runtime and agent.</summary>
public sealed class ContainerOptions
{
    public const string AgentSocketEnvironmentVariable = "TRUSTLAUNCH_AGENT_SOCKET";
    public const string DefaultAgentSocket = "/run/trustlaunch/agent.sock";

    public RegistryOptions Registry { get; } = new();

    public Option<string> Runtime { get; } = new("--runtime")
    {
        Description = "OCI runtime: crun, runc, or a path to one",
        HelpName = "RUNTIME",
        DefaultValueFactory = _ => "crun",
        Recursive = true,
    };

    public Option<string?> AgentSocket { get; } = new("--agent-socket")
    {
        Description = $"The local agent's unix socket, where launches are measured (default: ${AgentSocketEnvironmentVariable}, else {DefaultAgentSocket})",
        HelpName = "PATH",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        Registry.AddTo(command);
        command.Options.Add(Runtime);
        command.Options.Add(AgentSocket);
    }

    public string DataDir(ParseResult parse) => Registry.OpenStore(parse).Root;

    public OciRuntime OpenRuntime(ParseResult parse) =>
        new(parse.GetValue(Runtime)!, Path.Combine(DataDir(parse), "runtime"));

    public string AgentSocketPath(ParseResult parse) =>
        parse.GetValue(AgentSocket) ?? Environment.GetEnvironmentVariable(AgentSocketEnvironmentVariable) ?? DefaultAgentSocket;

    /// <summary>The agent measures every launch step; without one nothing is launched.</summary>
    public AgentSocketMeasurer OpenMeasurer(ParseResult parse)
    {
        var socket = AgentSocketPath(parse);
        if (!File.Exists(socket))
            throw new CliFailureException($"no agent socket at {socket}: start `trustlaunch serve agent` (launches are measured through it) or pass --agent-socket");
        return new AgentSocketMeasurer(socket);
    }

    public ContainerControl OpenControl(ParseResult parse) => new(DataDir(parse), OpenRuntime(parse));

    public ContentStore OpenStore(ParseResult parse) => Registry.OpenStore(parse);
}
