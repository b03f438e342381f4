using System.CommandLine;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch ps</c>: the launcher's containers, their images and states.</summary>
public static class PsCommand
{
    public static Command Create(GlobalOptions options, ContainerOptions containers)
    {
        var command = new Command("ps", "List containers started by trustlaunch run");
        command.SetAction(async (parse, ct) =>
        {
            var control = containers.OpenControl(parse);
            var list = (await control.ListAsync(ct).ConfigureAwait(false)).Select(ContainerView.From).ToList();
            return await CliOutput.For(parse, options).WriteAsync(list, CliJsonContext.Output.ListContainerView, (w, items) =>
            {
                w.WriteLine($"{"NAME",-20} {"STATUS",-12} {"IMAGE",-40} {"DIGEST",-20} CREATED");
                foreach (var c in items)
                    w.WriteLine($"{c.Name,-20} {c.StatusText,-12} {Trim(c.Image, 40),-40} {c.ImageDigest[..Math.Min(19, c.ImageDigest.Length)],-20} {c.Created:yyyy-MM-dd HH:mm:ss}");
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static string Trim(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";
}

/// <summary>A container as <c>ps</c> and <c>run --json</c> print it; <see cref="ExitReason"/> says why an exit status is missing.</summary>
public sealed record ContainerView(string Name, string Image, string ImageDigest, string Pod, string Namespace, string ConfigDigest,
    DateTimeOffset Created, string Status, int Pid, int? ExitCode, DateTimeOffset? Finished, string? Network = null, string? Seccomp = null,
    string? ExitReason = null)
{
    public string StatusText => ExitCode is { } code ? $"exited({code})" : Status;

    public static ContainerView From(ContainerSummary s) =>
        new(s.Record.Name, s.Record.Image, s.Record.ImageDigest, s.Record.Pod, s.Record.Namespace, s.Record.ConfigDigest, s.Record.Created,
            s.Status, s.Pid, s.Exit?.ExitCode, s.Exit?.Finished, s.Record.Network, s.Record.Seccomp, s.Exit?.Reason);
}
