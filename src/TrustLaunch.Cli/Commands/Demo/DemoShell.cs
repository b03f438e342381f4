namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// Runs <c>trustlaunch</c> commands the way a user would type them in a shell that sourced the demo's env file,
/// echoing each as <c>$ trustlaunch …</c>.
/// </summary>
internal sealed class DemoShell(DemoStack stack, TextWriter output, IReadOnlyList<string> extraRunArguments)
{
    /// <summary>Runs <c>trustlaunch ARGUMENTS</c>; <c>run</c> also gets the demo's extra run arguments (e.g. <c>--runtime</c>).</summary>
    public async Task<ProcessOutcome> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> all = arguments[0] == "run" ? [arguments[0], .. extraRunArguments, .. arguments.Skip(1)] : arguments;
        await output.WriteLineAsync("  $ trustlaunch " + string.Join(' ', all.Select(Display))).ConfigureAwait(false);
        return await DemoTools.RunAsync(stack.TrustLaunch(all), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a command that must succeed; its stdout.</summary>
    public async Task<string> RunCheckedAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var outcome = await RunAsync(arguments, cancellationToken).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
            throw new DemoFailedException($"`trustlaunch {string.Join(' ', arguments)}` exited with {outcome.ExitCode}: {CliApp.OneLine(outcome.Stderr.Trim())}");
        return outcome.Stdout;
    }

    /// <summary>An argument as typed in a shell where <c>DEMO</c> is the demo directory.</summary>
    private string Display(string argument) =>
        argument.Contains(stack.Directory, StringComparison.Ordinal) && !argument.Any(c => c is '"' or '$' or '`' or '\\' or '!')
            ? "\"" + argument.Replace(stack.Directory, "$DEMO", StringComparison.Ordinal) + "\""
            : Quote(argument);

    /// <summary>Shell quoting (single quotes when needed).</summary>
    public static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'";
}

/// <summary>Something in the demo did not behave as it must; the message says what was expected and what happened.</summary>
internal sealed class DemoFailedException(string message) : Exception(message);
