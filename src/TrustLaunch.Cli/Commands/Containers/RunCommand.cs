using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>
/// <c>trustlaunch run REF [--name N] [--pod ID] [--namespace NS] [--trust FILE|DIR] [--attach] [-- ARGS]</c>: a
/// measured launch of an image that matches a trusted golden value. Exit 3 with <c>NOT verified: REASON</c> (and an
/// ImageRejected measurement) otherwise. Detached by default; <c>--attach</c> streams the output and returns the
/// container's exit status.
/// </summary>
public static class RunCommand
{
    public const string TrustEnvironmentVariable = "TRUSTLAUNCH_TRUST";
    public const string DefaultTrust = "/etc/trustlaunch/trusted-publishers";

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
        var attach = new Option<bool>("--attach", "-a") { Description = "Stream the container's output and exit with its exit status" };
        var platform = RegistryOptions.PlatformOption();
        var keys = RegistryOptions.DecryptionKeyOption();
        var command = new Command("run", "Launch a container from an image that matches its signed golden value, measuring every step")
        {
            reference, args, name, pod, ns, trust, attach, platform, keys,
        };
        containers.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var containerName = parse.GetValue(name) ?? "tl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            var trusted = SigningKeys.LoadTrusted(parse.GetValue(trust) ?? Environment.GetEnvironmentVariable(TrustEnvironmentVariable) ?? DefaultTrust);
            using var ring = RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys));
            using var client = containers.Registry.CreateClient(parse, options.Input, r);
            using var measurer = containers.OpenMeasurer(parse);
            var launcher = new TrustedLauncher(containers.DataDir(parse), containers.OpenStore(parse), new LocalImageJudge(trusted), measurer);
            var request = new LaunchRequest(r, containerName, LaunchMode.Local, parse.GetValue(pod)!, parse.GetValue(ns)!,
                RegistryOptions.ParsePlatform(parse.GetValue(platform)), parse.GetValue(args))
            { DecryptionKeys = ring };

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

            var output = CliOutput.For(parse, options);
            if (parse.GetValue(attach))
            {
                var monitor = new ContainerMonitor(containers.OpenRuntime(parse), measurer);
                var running = monitor.RunAsync(container, _ => { }, ct);
                var copy = ContainerOutput.CopyAsync(container, output.Writer, follow: true, CancellationToken.None);
                var exitCode = await running.ConfigureAwait(false);
                await copy.ConfigureAwait(false);
                return exitCode;
            }

            await ContainerMonitorCommand.StartAsync(parse, containers, containerName, ct).ConfigureAwait(false);
            var view = ContainerView.From(await containers.OpenControl(parse).GetAsync(containerName, ct).ConfigureAwait(false));
            return await output.WriteAsync(view, CliJsonContext.Output.ContainerView, (w, v) => w.WriteLine(v.Name)).ConfigureAwait(false);
        });
        return command;
    }
}
