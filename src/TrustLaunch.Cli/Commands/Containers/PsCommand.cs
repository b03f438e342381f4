using System.CommandLine;
using System.Text.Json.Serialization;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Containers;

/// <summary><c>trustlaunch ps</c>: the launcher's containers, their images and states.</summary>
public static class PsCommand
{
    public static Command Create(GlobalOptions options, ContainerOptions containers)
    {
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Print CRI container ids whole (the table shows their first 13 characters, as crictl does)" };
        var command = new Command("ps", "List the node's containers: started by trustlaunch run, or through the agent's CRI endpoint (with their pods)")
        {
            noTrunc,
        };
        command.SetAction(async (parse, ct) =>
        {
            var whole = parse.GetValue(noTrunc);
            List<ContainerView> list;
            if (containers.IsStandalone(parse))
            {
                list = (await containers.OpenControl(parse).ListAsync(ct).ConfigureAwait(false)).Select(ContainerView.From).ToList();
            }
            else
            {
                using var agent = AgentLauncher.Open(parse, containers);
                list = (await agent.CallAsync(client => client.ListAsync(agent.DataDir, ct)).ConfigureAwait(false)).Select(ContainerView.From).ToList();
            }
            return await CliOutput.For(parse, options).WriteAsync(list, CliJsonContext.Output.ListContainerView, (w, items) =>
            {
                w.WriteLine($"{"NAME",-20} {"STATUS",-12} {"IMAGE",-40} {"DIGEST",-20} {"CREATED",-19} POD");
                foreach (var c in items)
                    w.WriteLine($"{(whole ? c.Name : c.ShortName),-20} {c.StatusText,-12} {Trim(c.Image, 40),-40} {c.ImageDigest[..Math.Min(19, c.ImageDigest.Length)],-20} {c.Created:yyyy-MM-dd HH:mm:ss} {c.PodText}".TrimEnd());
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static string Trim(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";
}

/// <summary>
/// A container as <c>ps</c> and <c>run --json</c> print it; <see cref="ExitReason"/> says why an exit status is missing.
/// <see cref="Source"/>: <c>run</c> or <c>cri</c> (then <see cref="Pod"/> is the sandbox id, <see cref="PodName"/> and
/// <see cref="Namespace"/> kubelet's).
/// </summary>
public sealed record ContainerView(string Name, string Image, string ImageDigest, string Pod, string Namespace, string ConfigDigest,
    DateTimeOffset Created, string Status, int Pid, int? ExitCode, DateTimeOffset? Finished, string? Network = null, string? Seccomp = null,
    string? ExitReason = null, string PodName = "", string Source = NodeContainer.RunSource)
{
    public string StatusText => ExitCode is { } code ? $"exited({code})" : Status;

    /// <summary>The name, or for a CRI container its id's first 13 characters (crictl's short form).</summary>
    [JsonIgnore]
    public string ShortName => Source == NodeContainer.CriSource && Name.Length > 13 ? Name[..13] : Name;

    /// <summary>namespace/pod-name for CRI containers, else the pod id given to run (if any).</summary>
    public string PodText => PodName.Length > 0 ? (Namespace.Length > 0 ? $"{Namespace}/{PodName}" : PodName) : Pod;

    public static ContainerView From(NodeContainer c) =>
        new(c.Name, c.Image, c.ImageDigest, c.Pod, c.Namespace, c.ConfigDigest, c.Created, c.Status, c.Pid, c.ExitCode, c.Finished, c.Network, c.Seccomp,
            c.ExitReason, c.PodName, c.Source);

    public static ContainerView From(ContainerSummary s) =>
        new(s.Record.Name, s.Record.Image, s.Record.ImageDigest, s.Record.Pod, s.Record.Namespace, s.Record.ConfigDigest, s.Record.Created,
            s.Status, s.Pid, s.Exit?.ExitCode, s.Exit?.Finished, s.Record.Network, s.Record.Seccomp, s.Exit?.Reason);
}
