using System.CommandLine;
using System.Text;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// <c>trustlaunch demo [--keep] [--dir DIR] [--runtime R]</c>: the whole trust chain on one machine, on loopback, in a
/// fresh directory; exit 0 when everything behaved as it must (the verified launch ran and was attested, the three
/// attacks were refused or caught), 1 otherwise. <c>--clean DIR</c> takes down what <c>--keep</c> left running.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep") { Description = "Leave everything running to explore (prints how, and how to stop it)" };
        var directory = new Option<string?>("--dir") { Description = "Work directory (default: a new /tmp/trustlaunch-demo-XXXXXX); must not exist", HelpName = "DIR" };
        var runtime = new Option<string>("--runtime") { Description = "OCI runtime for the launches: crun, runc, or a path", HelpName = "RUNTIME", DefaultValueFactory = _ => "crun" };
        var clean = new Option<string?>("--clean") { Description = "Stop and delete what `demo --keep` left in DIR", HelpName = "DIR" };
        var command = new Command("demo", "Run the end-to-end demo: registry, TPM, HSM, attestor and agent on loopback; a verified launch and three refusals")
        {
            keep, directory, runtime, clean,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(clean) is { } left)
            {
                if (!File.Exists(Path.Combine(left, DemoStack.ProcessesFile)))
                    throw new CliUsageException($"--clean {left}: not a demo directory (no {DemoStack.ProcessesFile} file)");
                using var leftStack = new DemoStack(Path.GetFullPath(left));
                await DemoCleanup.RunAsync(leftStack, output).ConfigureAwait(false);
                await output.WriteLineAsync($"stopped and deleted {left}").ConfigureAwait(false);
                return ExitCodes.Success;
            }
            CheckPrerequisites(parse.GetValue(runtime)!);
            using var stack = new DemoStack(CreateDirectory(parse.GetValue(directory)));
            await output.WriteLineAsync($"TrustLaunch demo: a registry, a node and its attestor on loopback, in DEMO={stack.Directory}").ConfigureAwait(false);
            string[] runArguments = parse.GetValue(runtime) is "crun" ? [] : ["--runtime", parse.GetValue(runtime)!];
            var story = new DemoStory(stack, new DemoShell(stack, output, runArguments), output);
            var exitCode = ExitCodes.Success;
            try
            {
                await story.RunAsync(ct).ConfigureAwait(false);
                await output.WriteLineAsync("\ndemo passed: 1 verified launch attested; 2 launches refused (no golden value, tampered snapshot); 1 forged ImageVerified caught (node Failed)")
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is DemoFailedException or CliFailureException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"demo FAILED: {CliApp.OneLine(e.Message)} (logs in {stack.LogDirectory})").ConfigureAwait(false);
                exitCode = ExitCodes.Failure;
            }
            finally
            {
                if (parse.GetValue(keep))
                    await KeepAsync(stack, output).ConfigureAwait(false);
                else
                    await DemoCleanup.RunAsync(stack, output).ConfigureAwait(false);
            }
            return exitCode;
        });
        return command;
    }

    private static void CheckPrerequisites(string runtime)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new CliUsageException("the demo needs root: it starts containers (crun) on overlay mounts");
        var missing = new List<(string Tool, string Package)>(DemoTools.Required) { (runtime, runtime) }.Where(t => !DemoTools.OnPath(t.Tool)).ToList();
        if (missing.Count > 0)
            throw new CliFailureException($"missing {string.Join(", ", missing.Select(m => m.Tool))}: run scripts/install-deps (apt-get install {string.Join(' ', missing.Select(m => m.Package).Distinct())})");
        if (!File.Exists(DemoImages.BusyboxPath))
            throw new CliFailureException($"missing {DemoImages.BusyboxPath} (the demo image's only binary): apt-get install busybox-static");
    }

    private static string CreateDirectory(string? requested)
    {
        if (requested is null)
            return Directory.CreateTempSubdirectory("trustlaunch-demo-").FullName;
        var full = Path.GetFullPath(requested);
        if (Path.Exists(full))
            throw new CliUsageException($"--dir {requested} exists; the demo starts from an empty directory");
        return Directory.CreateDirectory(full).FullName;
    }

    /// <summary>Writes DIR/env (what the story's commands ran with) and says how to explore and how to stop.</summary>
    private static async Task KeepAsync(DemoStack stack, TextWriter output)
    {
        var env = new StringBuilder();
        foreach (var (key, value) in stack.Environment)
            env.Append($"export {key}={DemoShell.Quote(value)}\n");
        env.Append($"export DEMO={DemoShell.Quote(stack.Directory)}\n");
        var file = Path.Combine(stack.Directory, "env");
        await File.WriteAllTextAsync(file, env.ToString()).ConfigureAwait(false);
        await output.WriteLineAsync($"""

            left running in {stack.Directory}; to explore:
              source {file}
              trustlaunch agent status "$TRUSTLAUNCH_AGENT_ID"; trustlaunch results "$TRUSTLAUNCH_AGENT_ID" --last 3
              trustlaunch run {stack.Registry}/demo/hello:1 --attach -- /bin/sh -c 'cat /etc/motd'   # refused: its snapshot was tampered with
              trustlaunch image list; trustlaunch ps
            to stop: trustlaunch demo --clean {stack.Directory}
            """).ConfigureAwait(false);
    }
}
