using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch results ID [--last N]</c>: an agent's attestation results, newest first, with their EAR tokens in JSON.</summary>
public static class ResultsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var last = new Option<int>("--last") { Description = "How many results (default 20)", HelpName = "N", DefaultValueFactory = _ => 20 };
        var command = new Command("results", "Show an agent's signed attestation results") { id, last };
        tenant.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var results = await tenant.CallAsync(parse, c => c.GetResultsAsync(parse.GetValue(id)!, parse.GetValue(last), ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(results, ContractsJsonContext.Default.IReadOnlyListAttestationResultRecord, (w, list) =>
            {
                if (list.Count == 0)
                {
                    w.WriteLine("no results yet");
                    return;
                }
                const string format = "{0,-8} {1,-20} {2,-16} {3,-14} {4,-8} {5,-22} {6}";
                w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "ID", "AT", "STATUS", "POLICY", "LOG", "INSTANCE", "REASON"));
                foreach (var r in list)
                {
                    w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, r.Id, AgentCommands.Time(r.At), r.Status, r.PolicyId, r.LogLength, r.InstanceId ?? "-",
                        r.Reason is null ? "" : r.EventIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $"{r.Reason} (event {i})") : r.Reason));
                }
            }).ConfigureAwait(false);
        });
        return command;
    }
}
