using System.CommandLine;
using System.Net.Sockets;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>
/// Options of the container commands (run, ps, logs, stop, rm): data directory, runtime, and where launches are
/// measured — the agent's socket, or with <c>--standalone</c> (never as a fallback) a launch log of their own and the TPM.
/// </summary>
public sealed class ContainerOptions(GlobalOptions global)
{
    public const string AgentSocketEnvironmentVariable = "TRUSTLAUNCH_AGENT_SOCKET";
    public const string DefaultAgentSocket = "/run/trustlaunch/agent.sock";

    public RegistryOptions Registry { get; } = new();

    public Option<string> Runtime { get; } = new("--runtime")
    {
        Description = "OCI runtime: crun, runc, or a path to one (ps, stop and rm use the one each container was run with)",
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

    public Option<bool> Standalone { get; } = new("--standalone")
    {
        Description = "No agent: measure into a launch log of this node's own (--launch-log) and the launch PCR of --tpm",
        Recursive = true,
    };

    public Option<string?> LaunchLog { get; } = new("--launch-log")
    {
        Description = "With --standalone: the launch event log's directory (default DATA/launch-log)",
        HelpName = "DIR",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        Registry.AddTo(command);
        command.Options.Add(Runtime);
        command.Options.Add(AgentSocket);
        command.Options.Add(Standalone);
        command.Options.Add(LaunchLog);
    }

    public string DataDir(ParseResult parse) => Registry.OpenStore(parse).Root;

    public OciRuntime OpenRuntime(ParseResult parse) => new(parse.GetValue(Runtime)!, RuntimeStateRoot(parse));

    private string RuntimeStateRoot(ParseResult parse) => Path.Combine(DataDir(parse), "runtime");

    public string AgentSocketPath(ParseResult parse) =>
        parse.GetValue(AgentSocket) ?? Environment.GetEnvironmentVariable(AgentSocketEnvironmentVariable) ?? DefaultAgentSocket;

    public bool IsStandalone(ParseResult parse) => parse.GetValue(Standalone);

    public string LaunchLogPath(ParseResult parse) => Path.GetFullPath(parse.GetValue(LaunchLog) ?? Path.Combine(DataDir(parse), "launch-log"));

    public string TpmSpec(ParseResult parse) => parse.GetValue(global.Tpm)!;

    /// <summary>
    /// The agent measures every launch step; without one nothing is launched, unless <c>--standalone</c> asks for a
    /// launch log of this node's own. Never both: a node with an agent must not get launches measured elsewhere.
    /// </summary>
    public IMeasurer OpenMeasurer(ParseResult parse)
    {
        if (IsStandalone(parse))
        {
            if (parse.GetResult(AgentSocket) is { Implicit: false })
                throw new CliUsageException("--standalone measures without an agent: drop --agent-socket, or --standalone to measure through the agent");
            if (AgentServesAt(AgentSocketPath(parse)))
                throw new CliFailureException($"an agent serves at {AgentSocketPath(parse)}: on its node launches are measured through it, not --standalone");
            return new EmbeddedMeasurer(TpmSpec(parse), LaunchLogPath(parse));
        }
        if (parse.GetResult(LaunchLog) is { Implicit: false })
            throw new CliUsageException("--launch-log is the standalone launch log: it needs --standalone");
        var socket = AgentSocketPath(parse);
        if (!File.Exists(socket))
            throw new CliFailureException($"no agent socket at {socket}: start `trustlaunch serve agent` (launches are measured through it), pass --agent-socket, or measure without an agent with --standalone");
        return new AgentSocketMeasurer(socket);
    }

    /// <summary>Whether something accepts connections on the agent's socket (a socket file left by a crash does not).</summary>
    private static bool AgentServesAt(string socket)
    {
        if (!File.Exists(socket))
            return false;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socket));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public ContainerControl OpenControl(ParseResult parse) =>
        new(DataDir(parse), binary => new OciRuntime(binary ?? parse.GetValue(Runtime)!, RuntimeStateRoot(parse)), () => OpenMeasurer(parse));

    public ContentStore OpenStore(ParseResult parse) => Registry.OpenStore(parse);
}
