using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>
/// <c>trustlaunch run REF [--name N] [--pod ID] [--namespace NS] [--mode local|remote] [--trust FILE|DIR] [--trust-policy FILE]
/// [--attach] [--net pod|host] [--seccomp default|unconfined] [--pids-limit N] [--secret NAME=FILE]... [-- ARGS]</c>: a measured launch of an image
/// that matches a trusted golden value, isolated as a Kubernetes pod is by default (anything looser only when asked, and
/// measured in ContainerCreated). Exit 3 with <c>NOT verified: REASON</c> (and an ImageRejected measurement)
/// otherwise. Detached by default; <c>--attach</c> streams the output and returns the container's exit status. The
/// agent (the node daemon) launches and supervises it; <c>--standalone</c> launches in this process, without one.
/// <c>--secret NAME=FILE</c> (FILE holds a <c>sealed.…</c> secret) needs the agent: it unseals the secret through the
/// node's broker once the image is verified and the container reads it at <c>/run/secrets/NAME</c> (a read-only tmpfs).
/// </summary>
public static class RunCommand
{
    public const string TrustEnvironmentVariable = "TRUSTLAUNCH_TRUST";
    public const string TrustPolicyEnvironmentVariable = "TRUSTLAUNCH_TRUST_POLICY";
    public const string DefaultTrust = "/etc/trustlaunch/trusted-publishers";
    public const string VerifierEnvironmentVariable = "TRUSTLAUNCH_VERIFIER_AGENT_URL";
    public const string AgentIdEnvironmentVariable = "TRUSTLAUNCH_AGENT_ID";

    public static Command Create(GlobalOptions options, ContainerOptions containers)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var args = new Argument<string[]>("ARGS") { Description = "Command and arguments replacing the image's (after --)", Arity = ArgumentArity.ZeroOrMore };
        var name = new Option<string?>("--name") { Description = "Container name (default: a random tl-XXXXXXXX)" };
        var pod = new Option<string>("--pod") { Description = "Pod id recorded in ContainerCreated", DefaultValueFactory = _ => "" };
        var ns = new Option<string>("--namespace") { Description = "Pod namespace recorded in ContainerCreated", DefaultValueFactory = _ => "" };
        var trust = new Option<string?>("--trust")
        {
            Description = $"Trusted golden-value publisher keys, a PEM file or a directory of *.pem (default: ${TrustEnvironmentVariable}, else {DefaultTrust})",
            HelpName = "FILE|DIR",
        };
        var trustPolicy = new Option<string?>("--trust-policy")
        {
            Description = $"Local mode: JSON trust policy — mirrors allowed per repository (golden_from), oldest golden value accepted (min_created), "
                          + $"revoked golden values (default: ${TrustPolicyEnvironmentVariable}; without one a golden value must name the image's own repository)",
            HelpName = "FILE",
        };
        var mode = new Option<string>("--mode")
        {
            Description = "local: check the golden value here against --trust; remote: the verifier decides (--verifier, --agent-id, --tls-dir)",
            DefaultValueFactory = _ => "local",
        };
        mode.AcceptOnlyFromAmong("local", "remote");
        var verifier = new Option<string?>("--verifier")
        {
            Description = $"Remote mode: the verifier's agent port (default: ${VerifierEnvironmentVariable}, else https://127.0.0.1:8880)",
            HelpName = "URL",
        };
        var agentId = new Option<string?>("--agent-id") { Description = $"Remote mode: this node's agent id (default: ${AgentIdEnvironmentVariable})", HelpName = "ID" };
        var tlsDir = new Option<string>("--tls-dir")
        {
            Description = "Remote mode: directory with this node's agent certificate and the CA (from trustlaunch ca issue)",
            HelpName = "DIR",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TRUSTLAUNCH_TLS_DIR") ?? "/etc/trustlaunch/tls",
        };
        var tlsName = new Option<string>("--tls-name") { Description = "Remote mode: certificate name in --tls-dir", HelpName = "NAME", DefaultValueFactory = _ => "agent" };
        var attach = new Option<bool>("--attach", "-a") { Description = "Stream the container's output and exit with its exit status" };
        var network = new Option<string>("--net")
        {
            Description = "pod: a network namespace of its own (loopback only); host: the host's network (measured as such)",
            DefaultValueFactory = _ => "pod",
        };
        network.AcceptOnlyFromAmong(ContainerIsolation.NetworkPod, ContainerIsolation.NetworkHost);
        var seccomp = new Option<string>("--seccomp")
        {
            Description = "default: containerd's default seccomp profile; unconfined: none (measured as such)",
            DefaultValueFactory = _ => ContainerIsolation.SeccompDefault,
        };
        seccomp.AcceptOnlyFromAmong(ContainerIsolation.SeccompDefault, ContainerIsolation.SeccompUnconfined);
        var pidsLimit = new Option<long>("--pids-limit")
        {
            Description = "The most processes and threads the container may have at once",
            DefaultValueFactory = _ => RuntimeBundle.DefaultPidsLimit,
        };
        var platform = RegistryOptions.PlatformOption();
        var keys = RegistryOptions.DecryptionKeyOption();
        var signaturePolicy = new ImageSignaturePolicyOptions();
        var secrets = new Option<string[]>("--secret")
        {
            Description = $"A sealed secret (FILE holds its sealed.… form) the agent unseals for the container as the read-only file {ContainerSecrets.ContainerPath}/NAME (repeatable)",
            HelpName = "NAME=FILE",
        };
        var command = new Command("run", "Launch a container from an image that matches its signed golden value, measuring every step")
        {
            reference, args, name, pod, ns, mode, trust, trustPolicy, verifier, agentId, tlsDir, tlsName, attach, network, seccomp, pidsLimit, platform, keys, secrets,
        };
        containers.AddTo(command);
        signaturePolicy.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(pidsLimit) <= 0)
                throw new CliUsageException("--pids-limit must be a positive number of processes");
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var containerName = parse.GetValue(name) ?? "tl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            var remote = parse.GetValue(mode) == "remote";
            var trustPath = parse.GetValue(trust) ?? Environment.GetEnvironmentVariable(TrustEnvironmentVariable) ?? DefaultTrust;
            var trustPolicyPath = parse.GetValue(trustPolicy) ?? Environment.GetEnvironmentVariable(TrustPolicyEnvironmentVariable);
            var output = CliOutput.For(parse, options);
            var sealedSecrets = ReadSecrets(parse.GetValue(secrets));
            if (sealedSecrets.Count > 0 && containers.IsStandalone(parse))
                throw new CliUsageException("--secret needs the agent (it unseals through the node's key broker): it cannot be used with --standalone");
            if (!containers.IsStandalone(parse))
            {
                // Checked here too, so a missing file is the same usage error it always was; the agent reads them itself.
                if (!remote)
                {
                    SigningKeys.LoadTrustPolicy(trustPolicyPath, SigningKeys.LoadTrusted(trustPath));
                }
                RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys)).Dispose();
                signaturePolicy.Check(parse);
                var (user, password) = containers.Registry.ReadCredentials(parse, options.Input);
                var request = new RunContainerRequest(Path.GetFullPath(containers.DataDir(parse)), r.ToString(), containerName, parse.GetValue(containers.Runtime)!,
                    remote ? "remote" : "local", parse.GetValue(network)!, parse.GetValue(seccomp)!, parse.GetValue(pidsLimit), parse.GetValue(attach),
                    parse.GetValue(pod)!, parse.GetValue(ns)!, parse.GetValue(platform), parse.GetValue(args),
                    remote ? null : Path.GetFullPath(trustPath), remote || trustPolicyPath is null ? null : Path.GetFullPath(trustPolicyPath),
                    remote ? VerifierUrl(parse, verifier) : null, remote ? parse.GetValue(agentId) ?? Environment.GetEnvironmentVariable(AgentIdEnvironmentVariable) : null,
                    (parse.GetValue(keys) ?? []).Select(Path.GetFullPath).ToList(), containers.Registry.InsecureRegistries(parse), user, password,
                    // The agent presents its own certificate unless this run names one.
                    remote && parse.GetResult(tlsDir) is { Implicit: false } ? Path.GetFullPath(parse.GetValue(tlsDir)!) : null, remote ? parse.GetValue(tlsName) : null)
                {
                    AuthFile = containers.Registry.AuthFilePath(parse),
                    RegistriesConf = containers.Registry.RegistriesConfPath(parse),
                    CertsDir = containers.Registry.CertsDirPath(parse),
                    SignaturePolicy = signaturePolicy.Paths(parse).SignaturePolicy,
                    RegistriesD = signaturePolicy.Paths(parse).RegistriesD,
                    Secrets = sealedSecrets,
                };
                return await RunThroughAgentAsync(parse, containers, request, output, ct).ConfigureAwait(false);
            }

            using var ring = RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys));
            using var client = containers.Registry.CreateClient(parse, options.Input, r);
            using var measurer = containers.OpenMeasurer(parse);
            using var verifierClient = remote ? VerifierAgentPort(parse, verifier, tlsDir, tlsName) : null;
            IImageJudge judge = verifierClient is null
                ? LocalJudge(trustPath, trustPolicyPath)
                : new RemoteImageJudge(verifierClient, parse.GetValue(agentId) ?? Environment.GetEnvironmentVariable(AgentIdEnvironmentVariable)
                    ?? throw new CliUsageException($"--mode remote needs --agent-id (or ${AgentIdEnvironmentVariable})"));
            judge = signaturePolicy.Wrap(parse, judge);
            var launcher = new TrustedLauncher(containers.DataDir(parse), containers.OpenStore(parse), judge, measurer);
            var launch = new LaunchRequest(r, containerName, verifierClient is null ? LaunchMode.Local : LaunchMode.Remote, parse.GetValue(pod)!, parse.GetValue(ns)!,
                RegistryOptions.ParsePlatform(parse.GetValue(platform)), parse.GetValue(args))
            {
                DecryptionKeys = ring,
                Runtime = parse.GetValue(containers.Runtime),
                HostNetwork = parse.GetValue(network) == ContainerIsolation.NetworkHost,
                SeccompUnconfined = parse.GetValue(seccomp) == ContainerIsolation.SeccompUnconfined,
                PidsLimit = parse.GetValue(pidsLimit),
            };
            return await RunStandaloneAsync(parse, containers, launcher, client, launch, parse.GetValue(attach), output, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The <c>--secret NAME=FILE</c> values: names checked as the agent checks them, each file's <c>sealed.…</c> text (trimmed).</summary>
    private static List<RunContainerSecret> ReadSecrets(string[]? values)
    {
        var pairs = (values ?? []).Select(v => v.IndexOf('=', StringComparison.Ordinal) is var equals and >= 0
            ? (Name: v[..equals], File: v[(equals + 1)..])
            : throw new CliUsageException($"--secret '{v}' is not NAME=FILE")).ToList();
        try
        {
            LaunchSecret.CheckNames(pairs.Select(p => p.Name));
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException($"--secret: {e.Message}");
        }
        var secrets = new List<RunContainerSecret>(pairs.Count);
        foreach (var (secretName, file) in pairs)
        {
            if (file.Length == 0 || !File.Exists(file))
                throw new CliUsageException($"--secret {secretName}: no file '{file}'");
            if (new FileInfo(file).Length > TrustLaunch.Kbs.Secrets.SealedSecret.MaxLength + 2)
                throw new CliUsageException($"--secret {secretName}: '{file}' is over {TrustLaunch.Kbs.Secrets.SealedSecret.MaxLength} bytes, larger than any sealed secret");
            secrets.Add(new RunContainerSecret(secretName, File.ReadAllText(file).Trim()));
        }
        return secrets;
    }

    private static LocalImageJudge LocalJudge(string trustPath, string? trustPolicyPath)
    {
        var trusted = SigningKeys.LoadTrusted(trustPath);
        return new LocalImageJudge(trusted, policy: SigningKeys.LoadTrustPolicy(trustPolicyPath, trusted));
    }

    /// <summary>The node daemon launches; attached, its output and exit status come back over the socket.</summary>
    private static async Task<int> RunThroughAgentAsync(ParseResult parse, ContainerOptions containers, RunContainerRequest request, CliOutput output, CancellationToken ct)
    {
        using var agent = AgentLauncher.Open(parse, containers);
        try
        {
            if (request.Attach)
            {
                var sink = ContainerText.Sink(output.Writer);
                return await agent.CallAsync(client => client.RunAttachedAsync(request, sink, ct)).ConfigureAwait(false);
            }
            var started = await agent.CallAsync(client => client.RunAsync(request, ct)).ConfigureAwait(false);
            return await output.WriteAsync(ContainerView.From(started), CliJsonContext.Output.ContainerView, (w, v) => w.WriteLine(v.Name)).ConfigureAwait(false);
        }
        catch (ImageNotVerifiedException e)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(CliApp.OneLine(e.Message)).ConfigureAwait(false);
            return ExitCodes.NotVerified;
        }
    }

    /// <summary>No agent on this node: the launch runs in this process, a detached container under a monitor process of its own.</summary>
    private static async Task<int> RunStandaloneAsync(ParseResult parse, ContainerOptions containers, TrustedLauncher launcher, RegistryClient client,
        LaunchRequest request, bool attach, CliOutput output, CancellationToken ct)
    {
        // Containers whose monitor died get their ContainerStopped measured before anything new is.
        await containers.OpenControl(parse).RecoverAsync(ct).ConfigureAwait(false);
        ContainerDirectory container;
        try
        {
            container = await launcher.PrepareAsync(client, request, ct).ConfigureAwait(false);
        }
        catch (ImageNotVerifiedException e)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(CliApp.OneLine(e.Message)).ConfigureAwait(false);
            return ExitCodes.NotVerified;
        }

        if (attach)
        {
            using var measurer = containers.OpenMeasurer(parse);
            var monitor = new ContainerMonitor(containers.OpenRuntime(parse), measurer);
            var running = monitor.RunAsync(container, _ => { }, ct);
            using var copying = new CancellationTokenSource();
            var copy = ContainerOutput.CopyAsync(container, ContainerText.Sink(output.Writer), follow: true, copying.Token, running);
            int exitCode;
            try
            {
                exitCode = await running.ConfigureAwait(false);
            }
            catch
            {
                await copying.CancelAsync().ConfigureAwait(false);
                await copy.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                ContainerControl.DiscardUnstarted(container);
                throw;
            }
            await copy.ConfigureAwait(false);
            return exitCode;
        }

        try
        {
            await ContainerMonitorCommand.StartAsync(parse, containers, request.Name, ct).ConfigureAwait(false);
        }
        catch
        {
            ContainerControl.DiscardUnstarted(container);
            throw;
        }
        var view = ContainerView.From(await containers.OpenControl(parse).GetAsync(request.Name, ct).ConfigureAwait(false));
        return await output.WriteAsync(view, CliJsonContext.Output.ContainerView, (w, v) => w.WriteLine(v.Name)).ConfigureAwait(false);
    }

    private static string VerifierUrl(ParseResult parse, Option<string?> verifier)
    {
        var url = parse.GetValue(verifier) ?? Environment.GetEnvironmentVariable(VerifierEnvironmentVariable) ?? "https://127.0.0.1:8880";
        ServiceCall.HttpsUrl("--verifier", url);
        return url;
    }

    /// <summary>The verifier's agent port over TLS, presenting this node's agent certificate.</summary>
    private static HttpClient VerifierAgentPort(ParseResult parse, Option<string?> verifier, Option<string> tlsDir, Option<string> tlsName)
    {
        var uri = new Uri(VerifierUrl(parse, verifier));
        var identity = TlsIdentity.FromDirectory(parse.GetValue(tlsDir)!, parse.GetValue(tlsName)!);
        return new ServiceHttpClientFactory(identity).Create(uri, ServiceRoles.Verifier);
    }
}
