using System.CommandLine;
using TrustLaunch.Agent;
using TrustLaunch.Agent.Configuration;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve agent --agent-id UUID --registrar URL</c>: TPM quotes over mutual TLS on <c>--listen</c>,
/// the launcher's measure API on the unix socket <c>--socket</c>, registration with the registrar at start, and with
/// <c>--push URL</c> evidence posted to the verifier (nodes behind NAT).
/// </summary>
public static class ServeAgentCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new ServeOptions(ServiceRoles.Agent, "/var/lib/trustlaunch/agent");
        var agentId = new Option<string>("--agent-id") { Description = "This node's agent id (a UUID)", HelpName = "UUID", Required = true };
        var registrar = new Option<string>("--registrar")
        {
            Description = "The registrar's agent port (default https://127.0.0.1:8890)",
            HelpName = "URL",
            DefaultValueFactory = _ => "https://127.0.0.1:8890",
        };
        var listen = ServeOptions.Listen("--listen", "Attestation API (mutual TLS)", 9002);
        var advertise = new Option<string?>("--advertise") { Description = "host:port the verifier reaches this agent at (default: --listen)", HelpName = "ADDRESS" };
        var push = new Option<string?>("--push")
        {
            Description = "Push mode: post evidence to this verifier agent-facing URL (e.g. https://verifier:8880) instead of waiting to be polled",
            HelpName = "VERIFIER_URL",
        };
        var socket = new Option<string?>("--socket") { Description = "Unix socket of the local measure API (default DATA/agent.sock)", HelpName = "PATH" };
        var launchPcr = new Option<int>("--launch-pcr")
        {
            Description = "PCR launch events are extended into (sha256 bank; never 16 or 23)",
            HelpName = "N",
            DefaultValueFactory = _ => new AgentOptions().LaunchPcr,
        };
        var akHandle = CliParsers.HandleOption("--ak-handle", $"Persistent handle of the agent's AK (default {CliParsers.FormatHandle(AgentOptions.DefaultAkHandle)})", AgentOptions.DefaultAkHandle);
        var command = new Command("agent", "Run the node agent: TPM quotes, launch event log, registration")
        {
            agentId, registrar, listen, advertise, push, socket, launchPcr, akHandle,
        };
        serve.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var agentOptions = new AgentOptions
            {
                AgentId = parse.GetValue(agentId)!.ToLowerInvariant(),
                DataDirectory = serve.DataDirectoryPath(parse),
                Tpm = parse.GetValue(options.Tpm),
                LaunchPcr = parse.GetValue(launchPcr),
                AkHandle = parse.GetValue(akHandle),
                Registrar = parse.GetValue(registrar)!,
                Listen = parse.GetValue(listen)!,
                AdvertisedAddress = parse.GetValue(advertise),
                PushVerifier = parse.GetValue(push),
                SocketPath = parse.GetValue(socket),
            };
            if (agentOptions.Validate() is { Count: > 0 } errors)
                throw new CliUsageException(string.Join("; ", errors));
            using var tls = serve.LoadIdentity(parse);
            var app = await AgentHost.BuildAsync(agentOptions, tls, ct).ConfigureAwait(false);
            return await ServeOptions.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }
}
