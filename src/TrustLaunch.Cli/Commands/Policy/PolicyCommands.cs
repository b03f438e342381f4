using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Policy;

/// <summary><c>trustlaunch policy add FILE | show NAME | list | remove NAME</c>: versioned attestation policies.</summary>
public static class PolicyCommands
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var policy = new Command("policy", "Manage the verifier's attestation policies (each add makes a new version)");
        tenant.AddTo(policy);
        foreach (var command in new[] { Add(options, tenant), Show(options, tenant), List(options, tenant), Remove(options, tenant) })
            policy.Subcommands.Add(command);
        return policy;
    }

    private static Command Add(GlobalOptions options, TenantOptions tenant)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Policy JSON, or YAML when named .yaml/.yml (snake_case PolicyDocument: trusted_publishers, allowed_publishers, allowed_image_digests, allowed_namespaces, launch_pcr, expected_pcrs, exec, allow_host_network, allow_unconfined_seccomp, golden_trust); a trusted publisher value may name a PEM file" };
        var command = new Command("add", "Add a policy, or a new version of it") { file };
        command.SetAction(async (parse, ct) =>
        {
            var document = await PolicyFile.ReadAsync(parse.GetValue(file)!, ct).ConfigureAwait(false);
            var stored = await tenant.CallAsync(parse, c => c.AddPolicyAsync(document, ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(stored, ContractsJsonContext.Default.StoredPolicy,
                (w, s) => w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"policy {s.Policy.Name} v{s.Version} added"))).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Show(GlobalOptions options, TenantOptions tenant)
    {
        var name = new Argument<string>("NAME") { Description = "Policy name" };
        var version = new Option<int?>("--version") { Description = "A given version (default: the latest)", HelpName = "V" };
        var command = new Command("show", "Print a policy") { name, version };
        command.SetAction(async (parse, ct) =>
        {
            var policyName = parse.GetValue(name)!;
            var stored = await tenant.CallAsync(parse, c => c.GetPolicyAsync(policyName, parse.GetValue(version), ct)).ConfigureAwait(false)
                ?? throw new CliFailureException($"policy '{policyName}' does not exist");
            return await CliOutput.For(parse, options).WriteAsync(stored, ContractsJsonContext.Default.StoredPolicy, WritePolicy).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List(GlobalOptions options, TenantOptions tenant)
    {
        var command = new Command("list", "List policies (latest versions)");
        command.SetAction(async (parse, ct) =>
        {
            var policies = await tenant.CallAsync(parse, c => c.ListPoliciesAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(policies, ContractsJsonContext.Default.IReadOnlyListStoredPolicy, (w, list) =>
            {
                if (list.Count == 0)
                {
                    w.WriteLine("no policies");
                    return;
                }
                const string format = "{0,-20} {1,-8} {2,-8} {3,-10} {4,-10} {5}";
                w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "NAME", "VERSION", "IMAGES", "PUBLISHERS", "LAUNCH PCR", "CREATED"));
                foreach (var s in list)
                {
                    w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, s.Policy.Name, s.Version, s.Policy.AllowedImageDigests.Count,
                        s.Policy.AllowedPublishers.Count, s.Policy.LaunchPcr, AgentCommands.Time(s.CreatedAt)));
                }
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Remove(GlobalOptions options, TenantOptions tenant)
    {
        var name = new Argument<string>("NAME") { Description = "Policy name" };
        var command = new Command("remove", "Remove every version of a policy no agent uses") { name };
        command.SetAction(async (parse, ct) =>
        {
            var policyName = parse.GetValue(name)!;
            await tenant.CallAsync(parse, async c =>
            {
                await c.RemovePolicyAsync(policyName, ct).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
            var output = CliOutput.For(parse, options);
            await output.Writer.WriteLineAsync(output.Json
                ? $$"""{"name":"{{JsonEncodedText.Encode(policyName)}}","removed":true}"""
                : $"policy {policyName} removed").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void WritePolicy(TextWriter w, StoredPolicy s)
    {
        var p = s.Policy;
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"policy:      {p.Name} v{s.Version} (created {AgentCommands.Time(s.CreatedAt)})"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"launch PCR:  {p.LaunchPcr}"));
        foreach (var kid in p.TrustedPublishers.Keys)
            w.WriteLine($"publisher:   {kid}{(p.AllowedPublishers.Contains(kid) ? " (any image it signs is allowed)" : " (trusted, not allowed)")}");
        foreach (var digest in p.AllowedImageDigests)
            w.WriteLine($"image:       {digest}");
        w.WriteLine($"namespaces:  {(p.AllowedNamespaces.Count == 0 ? "any" : string.Join(", ", p.AllowedNamespaces))}");
        w.WriteLine($"exec:        {p.Exec ?? ExecPolicy.Allow}");
        w.WriteLine($"host network: {(p.AllowHostNetwork ? "allowed" : "refused")}; unconfined seccomp: {(p.AllowUnconfinedSeccomp ? "allowed" : "refused")}");
        w.WriteLine($"golden trust: {(p.GoldenTrust is { } trust ? trust.GetRawText() : "golden values must name the image's own repository; none revoked")}");
        foreach (var (pcr, value) in p.ExpectedPcrs.OrderBy(e => e.Key))
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PCR {pcr,-2}:      {value}"));
    }
}
