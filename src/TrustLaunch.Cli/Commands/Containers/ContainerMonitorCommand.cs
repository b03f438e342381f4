using System.CommandLine;
using System.Diagnostics;
using TrustLaunch.Agent.Launcher;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary>
/// <c>trustlaunch container-monitor NAME</c> (hidden): the per-container supervisor a detached <c>run --standalone</c> starts in a
/// session of its own. It prints one line — <c>started PID</c> or <c>error: …</c> — then lives until the container
/// exits, recording its exit status and measuring ContainerStopped; later problems go to the container's monitor.log.
/// </summary>
public static class ContainerMonitorCommand
{
    public const string Name = "container-monitor";

    public static Command Create(ContainerOptions containers)
    {
        var name = new Argument<string>("NAME");
        var command = new Command(Name, "Supervise one container (started by trustlaunch run)") { name };
        command.Hidden = true;
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var ready = false;
            ContainerDirectory? container = null;
            try
            {
                container = ContainerDirectory.Open(containers.DataDir(parse), parse.GetValue(name)!);
                using var measurer = containers.OpenMeasurer(parse);
                var monitor = new ContainerMonitor(containers.OpenRuntime(parse), measurer);
                await monitor.RunAsync(container, pid =>
                {
                    output.WriteLine($"started {pid}");
                    output.Flush();
                    ready = true;
                }, ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            catch (Exception e) when (!ready)
            {
                await output.WriteLineAsync($"error: {CliApp.OneLine(e.Message)}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            catch (Exception e)
            {
                container?.AppendMonitorLog($"monitor failed: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    /// <summary>Starts the monitor in a new session (setsid) and waits for its first line.</summary>
    /// <returns>The container's pid.</returns>
    public static async Task<int> StartAsync(ParseResult parse, ContainerOptions containers, string containerName, CancellationToken cancellationToken)
    {
        // Only standalone runs have monitor processes (the agent supervises its containers itself): it measures into the same log and TPM.
        string[] measurer = ["--standalone", "--launch-log", containers.LaunchLogPath(parse), "--tpm", containers.TpmSpec(parse)];
        var start = SelfExecutable.StartInfo(
            [Name, containerName, "--data-dir", containers.DataDir(parse), "--runtime", parse.GetValue(containers.Runtime)!, .. measurer], prefix: "setsid");
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;

        using var process = Process.Start(start) ?? throw new CliFailureException("cannot start the container monitor");
        process.StandardInput.Close();
        var line = await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (line is not null && line.StartsWith("started ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(8), out var pid))
            return pid;
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        throw new CliFailureException(line is not null && line.StartsWith("error: ", StringComparison.Ordinal)
            ? line[7..]
            : $"the container monitor exited with {process.ExitCode} before the container started");
    }
}
