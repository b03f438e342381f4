using System.CommandLine;
using System.Globalization;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Verifier;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve verifier</c>: continuous attestation of the agents tenants add; the agent-facing TLS listener
/// (<c>--listen</c>: image attestation, public key) and the tenant mutual-TLS listener (<c>--tenant-listen</c>).
/// Several instances on one store (<c>--instance-id</c>, <c>--lease</c>) split the agents between them; what is kept
/// for how long is in <see cref="RetentionOptions"/>.
/// </summary>
public static class ServeVerifierCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new ServeOptions(ServiceRoles.Verifier, "/var/lib/trustlaunch/verifier");
        var listen = ServeOptions.Listen("--listen", "Agent-facing TLS listener", VerifierOptions.DefaultAgentPort);
        var tenantListen = ServeOptions.Listen("--tenant-listen", "Tenant mutual-TLS listener", VerifierOptions.DefaultTenantPort);
        var registrar = new Option<string>("--registrar")
        {
            Description = "Registrar management URL (default https://127.0.0.1:8891)",
            HelpName = "URL",
            DefaultValueFactory = _ => "https://127.0.0.1:8891",
        };
        var interval = new Option<double>("--quote-interval")
        {
            Description = "Seconds between quotes of each agent (default 2)",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => VerifierOptions.DefaultQuoteInterval.TotalSeconds,
        };
        var concurrency = new Option<int>("--max-concurrency")
        {
            Description = $"Agents attested at once (default {VerifierOptions.DefaultMaxConcurrency})",
            HelpName = "N",
            DefaultValueFactory = _ => VerifierOptions.DefaultMaxConcurrency,
        };
        var unreachableAfter = new Option<int>("--unreachable-after")
        {
            Description = $"Consecutive network faults before an agent is Unreachable (default {VerifierOptions.DefaultUnreachableAfter})",
            HelpName = "N",
            DefaultValueFactory = _ => VerifierOptions.DefaultUnreachableAfter,
        };
        var webhooks = new Option<string[]>("--webhook")
        {
            Description = "URL that receives signed revocation notifications (repeatable)",
            HelpName = "URL",
            AllowMultipleArgumentsPerToken = false,
        };
        var instanceId = new Option<string?>("--instance-id")
        {
            Description = "This instance among verifiers sharing one store (default HOSTNAME:PORT of --listen; keep it across restarts)",
            HelpName = "NAME",
        };
        var lease = new Option<double?>("--lease")
        {
            Description = "Seconds an agent stays leased to this instance without renewal; must exceed --quote-interval "
                + "(default 15, or two intervals if longer)",
            HelpName = "SECONDS",
        };
        var command = new Command("verifier", "Run the verifier: continuous attestation, policies, results, image attestation")
        {
            listen, tenantListen, registrar, interval, concurrency, unreachableAfter, webhooks, instanceId, lease,
        };
        serve.AddTo(command);
        var store = new StoreOptions();
        store.AddTo(command);
        var retention = new RetentionOptions();
        retention.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var storeLocation = store.Parse(parse);
            var retained = retention.Parse(parse);
            var registrarUrl = ServiceCall.HttpsUrl("--registrar", parse.GetValue(registrar));
            var seconds = parse.GetValue(interval);
            if (seconds is < 0.05 or > 86_400)
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"--quote-interval {seconds} must be 0.05 to 86400 seconds"));
            if (parse.GetValue(concurrency) < 1 || parse.GetValue(unreachableAfter) < 1)
                throw new CliUsageException("--max-concurrency and --unreachable-after must be at least 1");
            var urls = parse.GetValue(webhooks) ?? [];
            foreach (var url in urls)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp))
                    throw new CliUsageException($"--webhook '{url}' is not an http(s):// URL");
            }
            if (parse.GetValue(instanceId) is { } name && (name.Length is 0 or > 200 || name.Any(char.IsControl)))
                throw new CliUsageException("--instance-id must be 1 to 200 printable characters");
            if (parse.GetValue(lease) is { } leaseSeconds && (leaseSeconds <= seconds || leaseSeconds > 86_400))
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture,
                    $"--lease {leaseSeconds} must be longer than --quote-interval ({seconds}) and at most 86400 seconds"));
            var verifier = new VerifierOptions(
                serve.DataDirectoryPath(parse),
                ServeOptions.Endpoint(parse, listen, "agents", mutualTls: false),
                ServeOptions.Endpoint(parse, tenantListen, "tenants", mutualTls: true),
                serve.LoadIdentity(parse),
                registrarUrl,
                TimeSpan.FromSeconds(seconds),
                parse.GetValue(concurrency),
                parse.GetValue(unreachableAfter),
                urls)
            {
                Store = storeLocation,
            };
            if (parse.GetValue(instanceId) is { } id)
                verifier = verifier with { InstanceId = id };
            if (parse.GetValue(lease) is { } l)
                verifier = verifier with { Lease = TimeSpan.FromSeconds(l) };
            verifier = retained.ApplyTo(verifier);
            var app = await VerifierApp.BuildAsync(verifier, cancellationToken: ct).ConfigureAwait(false);
            return await ServeOptions.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }
}
