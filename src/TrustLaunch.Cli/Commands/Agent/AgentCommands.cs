using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Agent;

/// <summary><c>trustlaunch agent add|list|status|update|remove|pause|resume</c>: agents under attestation at the verifier.</summary>
public static class AgentCommands
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var agent = new Command("agent", "Put agents under attestation at the verifier and watch their state");
        tenant.AddTo(agent);
        foreach (var command in new[] { Add(options, tenant), List(options, tenant), Status(options, tenant), Update(options, tenant), Remove(options, tenant),
                     Pause(options, tenant, pause: true), Pause(options, tenant, pause: false) })
            agent.Subcommands.Add(command);
        return agent;
    }

    private static Argument<string> AgentId() => new("ID") { Description = "Agent id (the UUID it registered with)" };

    private static Command Add(GlobalOptions options, TenantOptions tenant)
    {
        var id = AgentId();
        var policy = new Option<string>("--policy") { Description = "Policy name", HelpName = "NAME", Required = true };
        var address = new Option<string?>("--address") { Description = "Agent HOST:PORT (default: the address it registered)", HelpName = "H:P" };
        var push = new Option<bool>("--push") { Description = "Push mode: the agent (serve agent --push) posts its evidence; it is not polled" };
        var command = new Command("add", "Start attesting an agent against a policy") { id, policy, address, push };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(push) && parse.GetValue(address) is not null)
                throw new CliUsageException("--address and --push exclude each other: a push-mode agent calls the verifier");
            var status = await tenant.CallAsync(parse, c => c.AddAgentAsync(new AddAgentRequest(parse.GetValue(id)!, parse.GetValue(policy)!,
                parse.GetValue(address), parse.GetValue(push) ? AttestationModes.Push : null), ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(status, ContractsJsonContext.Default.AgentStatus,
                (w, s) => w.WriteLine($"agent {s.AgentId} added ({Where(s)}, policy {s.Policy} v{s.PolicyVersion}): {s.State}")).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List(GlobalOptions options, TenantOptions tenant)
    {
        var state = new Option<string?>("--state") { Description = "Only agents in this state", HelpName = "STATE" };
        state.AcceptOnlyFromAmong([.. AgentStates.All]);
        var command = new Command("list", "List agents under attestation") { state };
        command.SetAction(async (parse, ct) =>
        {
            var only = parse.GetValue(state);
            var agents = await tenant.CallAsync(parse, c => c.ListAgentsAsync(only, ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(agents, ContractsJsonContext.Default.IReadOnlyListAgentStatus,
                (w, list) => WriteTable(w, list, only is null ? "no agents under attestation" : $"no agents {only}")).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Update(GlobalOptions options, TenantOptions tenant)
    {
        var id = AgentId();
        var policy = new Option<string>("--policy") { Description = "The policy to hold the agent to from now on", HelpName = "NAME", Required = true };
        var command = new Command("update", "Hold an agent to another policy: its whole launch log is appraised afresh under it") { id, policy };
        command.SetAction(async (parse, ct) =>
        {
            var status = await tenant.CallAsync(parse, c => c.UpdateAgentPolicyAsync(parse.GetValue(id)!, parse.GetValue(policy)!, ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(status, ContractsJsonContext.Default.AgentStatus,
                (w, s) => w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"agent {s.AgentId} now under policy {s.Policy} v{s.PolicyVersion}: {s.State}"))).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Status(GlobalOptions options, TenantOptions tenant)
    {
        var id = AgentId();
        var command = new Command("status", "Show an agent's attestation state") { id };
        command.SetAction(async (parse, ct) =>
        {
            var agentId = parse.GetValue(id)!;
            var status = await tenant.CallAsync(parse, c => c.GetAgentAsync(agentId, ct)).ConfigureAwait(false)
                ?? throw new CliFailureException($"agent '{agentId}' is not under attestation");
            return await CliOutput.For(parse, options).WriteAsync(status, ContractsJsonContext.Default.AgentStatus, WriteStatus).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Remove(GlobalOptions options, TenantOptions tenant)
    {
        var id = AgentId();
        var command = new Command("remove", "Stop attesting an agent (its results are kept)") { id };
        command.SetAction(async (parse, ct) =>
        {
            var agentId = parse.GetValue(id)!;
            await tenant.CallAsync(parse, async c =>
            {
                await c.RemoveAgentAsync(agentId, ct).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
            var output = CliOutput.For(parse, options);
            await output.Writer.WriteLineAsync(output.Json ? $$"""{"agent_id":"{{System.Text.Json.JsonEncodedText.Encode(agentId)}}","removed":true}""" : $"agent {agentId} removed").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Pause(GlobalOptions options, TenantOptions tenant, bool pause)
    {
        var id = AgentId();
        var command = new Command(pause ? "pause" : "resume", pause
            ? "Stop polling an agent until resumed"
            : "Poll an agent again; a Failed or Unreachable agent is appraised afresh from its last good state") { id };
        command.SetAction(async (parse, ct) =>
        {
            var status = await tenant.CallAsync(parse, c => c.PauseAgentAsync(parse.GetValue(id)!, pause, ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(status, ContractsJsonContext.Default.AgentStatus, WriteStatus).ConfigureAwait(false);
        });
        return command;
    }

    private static void WriteTable(TextWriter w, IReadOnlyList<AgentStatus> agents, string none)
    {
        if (agents.Count == 0)
        {
            w.WriteLine(none);
            return;
        }
        const string format = "{0,-38} {1,-22} {2,-14} {3,-12} {4,-20} {5}";
        w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "AGENT", "ADDRESS", "POLICY", "STATE", "LAST ATTESTATION", "REASON"));
        foreach (var a in agents)
        {
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, a.AgentId, Where(a), $"{a.Policy} v{a.PolicyVersion}",
                a.Paused ? a.State + "*" : a.State, Time(a.LastAttestation), a.FailureReason ?? ""));
        }
        if (agents.Any(a => a.Paused))
            w.WriteLine("* paused");
    }

    private static void WriteStatus(TextWriter w, AgentStatus s)
    {
        w.WriteLine($"agent:            {s.AgentId}");
        w.WriteLine($"mode:             {s.Mode}");
        if (s.Mode == AttestationModes.Push)
            w.WriteLine($"evidence due by:  {Time(s.PushDeadline)}");
        else
            w.WriteLine($"address:          {s.Address}");
        w.WriteLine($"policy:           {s.Policy} v{s.PolicyVersion}");
        w.WriteLine($"state:            {s.State}{(s.Paused ? " (paused)" : "")}");
        w.WriteLine($"last attestation: {Time(s.LastAttestation)}");
        w.WriteLine($"last success:     {Time(s.LastSuccess)}");
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"attestations:     {s.Attestations} ({s.EventsVerified} events verified)"));
        if (s.FailureReason is { } reason)
            w.WriteLine($"reason:           {reason}{(s.FailedEventIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $" (event {i})") : "")}");
    }

    /// <summary>The address a pull-mode agent is polled at, or <c>push</c>.</summary>
    private static string Where(AgentStatus s) => s.Mode == AttestationModes.Push ? "push" : s.Address;

    internal static string Time(DateTimeOffset? t) => t?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";
}
