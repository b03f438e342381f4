using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Verifier;

/// <summary><c>trustlaunch verifier instances</c>: the verifier instances sharing one store and the agents each holds.</summary>
public static class VerifierCommands
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var verifier = new Command("verifier", "Inspect the verifier instances that share the attestation work");
        tenant.AddTo(verifier);
        verifier.Subcommands.Add(Instances(options, tenant));
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
