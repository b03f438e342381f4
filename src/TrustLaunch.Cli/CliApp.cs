using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Cli.Commands;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Commands.Containers;
using TrustLaunch.Cli.Commands.Policy;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Cli;

/// <summary>
/// The <c>trustlaunch</c> command tree and its error policy: a failure is one line <c>error: …</c> on stderr and exit
/// code <see cref="ExitCodes.Usage"/> (bad arguments or input files) or <see cref="ExitCodes.Failure"/> (the TPM, a
/// registry, a verification, or the filesystem said no). <c>golden verify</c> alone exits
/// <see cref="ExitCodes.NotVerified"/> when an image does not match its golden value.
/// </summary>
public static class CliApp
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, Console.In, stdout, stderr, cancellationToken);

    /// <param name="stdin">What <c>--password-stdin</c> reads.</param>
    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var options = new GlobalOptions { Input = stdin };
        var root = new RootCommand("TrustLaunch: launch containers only when trusted, and prove what ran with TPM quotes.");
        options.AddTo(root);
        root.Subcommands.Add(TpmCommand.Create(options));
        root.Subcommands.Add(ImageCommand.Create(options));
        root.Subcommands.Add(GoldenCommand.Create(options));
        root.Subcommands.Add(HsmCommand.Create(options));
        root.Subcommands.Add(CaCommand.Create(options));
        root.Subcommands.Add(ServeCommand.Create(options));
        var containers = new ContainerOptions(options);
        root.Subcommands.Add(RunCommand.Create(options, containers));
        foreach (var command in new[] { PsCommand.Create(options, containers), LogsCommand.Create(containers), StopCommand.Create(options, containers), RmCommand.Create(options, containers), ContainerMonitorCommand.Create(containers) })
        {
            containers.AddTo(command);
            root.Subcommands.Add(command);
        }
        root.Subcommands.Add(AgentCommands.Create(options));
        root.Subcommands.Add(PolicyCommands.Create(options));
        root.Subcommands.Add(Commands.Registrar.RegistrarCommands.Create(options));
        root.Subcommands.Add(Commands.Kbs.KbsCommand.Create(options));
        root.Subcommands.Add(Commands.KeyProvider.KeyProviderCommand.Create(options));
        root.Subcommands.Add(Commands.StreamProcessor.StreamDecryptCommand.Create());
        root.Subcommands.Add(Commands.Secret.SecretCommand.Create());
        root.Subcommands.Add(ResultsCommand.Create(options));
        root.Subcommands.Add(Commands.Verifier.VerifierCommands.Create(options));
        root.Subcommands.Add(Commands.Demo.DemoCommand.Create());
        root.Subcommands.Add(Commands.Config.ConfigCommand.Create());
        root.Subcommands.Add(Commands.Dashboard.DashboardCommand.Create());
        root.Subcommands.Add(HealthCommand.Create());

        ParseResult parse;
        try
        {
            parse = Commands.Config.ServeConfiguration.Parse(root, args, Environment.GetEnvironmentVariable, out _);
        }
        catch (CliUsageException e)
        {
            await stderr.WriteLineAsync($"error: {OneLine(e.Message)}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            await stderr.WriteLineAsync($"error: {OneLine(parse.Errors[0].Message)}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        try
        {
            var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return await parse.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ExitCodeFor(e) is { } code)
        {
            await stderr.WriteLineAsync($"error: {OneLine(e.Message)}").ConfigureAwait(false);
            return code;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug: say so on the first line, keep the trace for the report.
            await stderr.WriteLineAsync($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}").ConfigureAwait(false);
            await stderr.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            return ExitCodes.Internal;
        }
    }

    /// <summary>Expected failures and their exit codes; anything else is a bug.</summary>
    internal static int? ExitCodeFor(Exception e) => e switch
    {
        CliUsageException => ExitCodes.Usage,
        CliFailureException => ExitCodes.Failure,
        TrustLaunch.Agent.Launcher.LauncherException or TrustLaunch.Agent.Runtime.RuntimeException => ExitCodes.Failure,
        TpmException or TpmTransportException or TpmFormatException => ExitCodes.Failure,
        // Registries, content that does not match its digest, platforms an index lacks, unsupported media types,
        // malformed manifests: the outside world said no.
        RegistryException or RegistryBlockedException or OciContentException or PlatformNotFoundException or HttpRequestException => ExitCodes.Failure,
        NotSupportedException or JsonException => ExitCodes.Failure,
        FileNotFoundException or DirectoryNotFoundException => ExitCodes.Usage,
        FormatException or ArgumentException => ExitCodes.Usage,
        IOException or UnauthorizedAccessException or CryptographicException => ExitCodes.Failure,
        // The store: unreachable, refused the login, or failed a migration (messages carry no password).
        System.Data.Common.DbException => ExitCodes.Failure,
        _ => null,
    };

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The TPM, a verification or the filesystem refused.</summary>
    public const int Failure = 1;
    /// <summary>Bad arguments or malformed input files.</summary>
    public const int Usage = 2;
    /// <summary><c>golden verify</c>: the image does not match a trusted, valid golden value (or has none).</summary>
    public const int NotVerified = 3;
    /// <summary>A bug in trustlaunch (EX_SOFTWARE).</summary>
    public const int Internal = 70;
}

/// <summary>The command line or an input file is wrong; exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>The operation was refused or failed (TPM state, verification); exit code 1.</summary>
public sealed class CliFailureException(string message) : Exception(message);
