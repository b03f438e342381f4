using System.CommandLine;
using TrustLaunch.Agent;
using TrustLaunch.Agent.Configuration;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve agent --agent-id UUID --registrar URL</c>: TPM quotes over mutual TLS on <c>--listen</c>,
/// the launcher's measure API on the unix socket <c>--socket</c>, registration with the registrar at start, and with
/// <c>--push URL</c> evidence posted to the verifier (nodes behind NAT); with <c>--cri-listen</c> and <c>--cri-backend</c>
/// the CRI endpoint kubelet uses in front of containerd; with <c>--kbs URL</c> the key broker's attester behind
/// <c>trustlaunch kbs get-resource</c>.
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
        var kbs = new Option<string?>("--kbs")
        {
            Description = "The key broker `kbs get-resource` attests to (its certificate from the CA in --tls-dir, role kbs), e.g. https://kbs:8080",
            HelpName = "URL",
        };
        var secretTrust = new Option<string?>("--secret-trust")
        {
            Description = "Directory of KID.pem P-256 public keys whose sealed secrets this agent unseals through --kbs",
            HelpName = "DIR",
        };
        var socket = new Option<string?>("--socket") { Description = "Unix socket of the local measure API (default DATA/agent.sock)", HelpName = "PATH" };
        var launchPcr = new Option<int>("--launch-pcr")
        {
            Description = "PCR launch events are extended into (sha256 bank; never 16 or 23)",
            HelpName = "N",
            DefaultValueFactory = _ => new AgentOptions().LaunchPcr,
        };
        var criListen = new Option<string?>("--cri-listen")
        {
            Description = "Serve the CRI (runtime.v1) for kubelet on this unix socket, e.g. unix:///run/trustlaunch/cri.sock (needs --cri-backend)",
            HelpName = "unix:///PATH",
        };
        var criBackend = new Option<string?>("--cri-backend") { Description = "containerd's socket the CRI endpoint forwards to, e.g. unix:///run/containerd/containerd.sock", HelpName = "unix:///PATH" };
        var criTrust = new Option<string?>("--cri-trust") { Description = "CRI local mode: trusted publisher public key (PEM) or a directory of them", HelpName = "PATH" };
        var criTrustPolicy = new Option<string?>("--cri-trust-policy") { Description = "CRI local mode: golden value trust policy (JSON)", HelpName = "FILE" };
        var criVerifier = new Option<string?>("--cri-verifier") { Description = "CRI remote mode: the verifier's agent-facing URL decides on each image", HelpName = "URL" };
        var criMirror = new Option<string[]>("--cri-registry-mirror")
        {
            Description = "REGISTRY=HOST[:PORT]: where containerd pulls REGISTRY's images from (as in its registry.mirrors); repeatable",
            HelpName = "REGISTRY=HOST",
            DefaultValueFactory = _ => [],
        };
        var criSignaturePolicy = new Option<string?>("--cri-signature-policy")
        {
            Description = "CRI: containers-policy.json images must also satisfy (default: /etc/containers/policy.json when it exists)",
            HelpName = "FILE",
        };
        var criRegistriesD = new Option<string?>("--cri-registries.d") { Description = "CRI: registries.d naming signature stores (default: /etc/containers/registries.d)", HelpName = "DIR" };
        var criAuthFile = new Option<string?>("--cri-authfile") { Description = "CRI: registry credentials file read alone (default: the auth files' search path)", HelpName = "FILE" };
        var criRegistriesConf = new Option<string?>("--cri-registries-conf") { Description = "CRI: registries.conf (default: /etc/containers/registries.conf and its .d)", HelpName = "FILE" };
        var criCertsDir = new Option<string?>("--cri-certs-dir") { Description = "CRI: per-registry TLS directory (default: /etc/containers/certs.d)", HelpName = "DIR" };
        var akHandle = CliParsers.HandleOption("--ak-handle", $"Persistent handle of the agent's AK (default {CliParsers.FormatHandle(AgentOptions.DefaultAkHandle)})", AgentOptions.DefaultAkHandle);
        var command = new Command("agent", "Run the node agent: TPM quotes, launch event log, registration")
        {
            agentId, registrar, listen, advertise, push, kbs, secretTrust, socket, launchPcr, akHandle, criListen, criBackend, criTrust, criTrustPolicy, criVerifier, criMirror,
            criSignaturePolicy, criRegistriesD, criAuthFile, criRegistriesConf, criCertsDir,
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
                Kbs = parse.GetValue(kbs),
                SecretTrust = SecretTrust(parse.GetValue(secretTrust), parse.GetValue(kbs)),
                SocketPath = parse.GetValue(socket),
                Cri = parse.GetValue(criListen) is null && parse.GetValue(criBackend) is null
                    ? null
                    : new CriSettings(parse.GetValue(criListen) ?? "", parse.GetValue(criBackend) ?? "", parse.GetValue(criTrust), parse.GetValue(criTrustPolicy),
                        parse.GetValue(criVerifier), parse.GetValue(criMirror) ?? [])
                    {
                        SignaturePolicy = parse.GetValue(criSignaturePolicy),
                        RegistriesD = parse.GetValue(criRegistriesD),
                        AuthFile = parse.GetValue(criAuthFile),
                        RegistriesConf = parse.GetValue(criRegistriesConf),
                        CertsDir = parse.GetValue(criCertsDir),
                    },
            };
            if (agentOptions.Validate() is { Count: > 0 } errors)
                throw new CliUsageException(string.Join("; ", errors));
            using var tls = serve.LoadIdentity(parse);
            var app = await AgentHost.BuildAsync(agentOptions, tls, ct).ConfigureAwait(false);
            return await ServeOptions.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Checks <c>--secret-trust</c> now, so a bad directory stops the agent before it serves.</summary>
    private static string? SecretTrust(string? directory, string? kbs)
    {
        if (directory is null)
            return null;
        if (kbs is null)
            throw new CliUsageException("--secret-trust needs --kbs: sealed secrets open only through the key broker");
        try
        {
            TrustLaunch.Kbs.Secrets.SealedSecretSigners.Load(directory).Dispose();
        }
        catch (TrustLaunch.Kbs.Secrets.SealedSecretException e)
        {
            throw new CliUsageException($"--secret-trust {e.Message}");
        }
        return directory;
    }
}
