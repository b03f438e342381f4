using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Verifier;

/// <summary>
/// <c>trustlaunch verifier instances</c>: the verifier instances sharing one store and the agents each holds;
/// <c>trustlaunch verifier outbox</c>: revocation notifications still being retried and those dead-lettered.
/// </summary>
public static class VerifierCommands
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var verifier = new Command("verifier", "Inspect the verifier: the instances that share the attestation work, the webhook outbox");
        tenant.AddTo(verifier);
        verifier.Subcommands.Add(Instances(options, tenant));
        verifier.Subcommands.Add(Outbox(options, tenant));
        return verifier;
    }

    private static Command Instances(GlobalOptions options, TenantOptions tenant)
    {
        var command = new Command("instances", "List verifier instances: agents leased to each, last heartbeat, alive or dead");
        command.SetAction(async (parse, ct) =>
        {
            var instances = await tenant.CallAsync(parse, c => c.ListInstancesAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(instances, ContractsJsonContext.Default.IReadOnlyListVerifierInstanceStatus, WriteTable)
                .ConfigureAwait(false);
        });
        return command;
    }

    private static Command Outbox(GlobalOptions options, TenantOptions tenant)
    {
        var command = new Command("outbox", "List revocation notifications not yet delivered: pending (retried) and dead (given up), oldest first");
        command.SetAction(async (parse, ct) =>
        {
            var entries = await tenant.CallAsync(parse, c => c.ListOutboxAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(entries, ContractsJsonContext.Default.IReadOnlyListOutboxEntryStatus, WriteOutbox)
                .ConfigureAwait(false);
        });
        return command;
    }

    private static void WriteOutbox(TextWriter w, IReadOnlyList<OutboxEntryStatus> entries)
    {
        if (entries.Count == 0)
        {
            w.WriteLine("outbox empty: every notification was delivered");
            return;
        }
        const string format = "{0,-8} {1,-8} {2,-24} {3,-9} {4,-20} {5} {6}";
        w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "ID", "STATE", "AGENT", "ATTEMPTS", "CREATED", "URL", "LAST ERROR"));
        foreach (var e in entries)
        {
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, e.Id, e.State, e.AgentId ?? "-", e.Attempts,
                AgentCommands.Time(e.CreatedAt), e.Url, e.LastError ?? "-"));
        }
    }

    private static void WriteTable(TextWriter w, IReadOnlyList<VerifierInstanceStatus> instances)
    {
        if (instances.Count == 0)
        {
            w.WriteLine("no verifier instances yet");
            return;
        }
        const string format = "{0,-32} {1,-7} {2,-20} {3}";
        w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "INSTANCE", "AGENTS", "LAST SEEN", "STATUS"));
        foreach (var i in instances)
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, i.InstanceId, i.Agents, AgentCommands.Time(i.HeartbeatAt), i.Alive ? "alive" : "dead"));
    }
}
