using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Kbs.Client;
using TrustLaunch.LoadSim.Simulation;

namespace TrustLaunch.LoadSim;

/// <summary>
/// <c>loadsim ek-ca --work DIR</c> creates the simulator's EK CA and prints its certificate's path (for the registrar's
/// <c>--ek-ca</c>). <c>loadsim run …</c> creates N agents, serves them, registers them, adds the benchmark policy and
/// the agents to the verifier, prints <c>ready</c> and serves until SIGTERM or SIGINT; with <c>--kbs</c> it also runs
/// <see cref="KbsLoad"/> against the key broker.
/// </summary>
public static class LoadSimCommand
{
    private const string Usage = """
        usage: loadsim ek-ca --work DIR
               loadsim run --agents N --pki DIR --ca-key-dir DIR --tenant NAME --work DIR --registrar URL --verifier URL --port PORT
                           [--first-address 127.1.0.1] [--launch-pcr 13] [--event-every 10] [--policy loadsim] [--parallel 16]
                           [--push URL] [--kbs URL --kbs-resource REPO/TYPE/TAG [--kbs-concurrency 4,8,16] [--kbs-warmup 10] [--kbs-window 30]]
          --pki       the deployment CA's TLS directory (ca.crt, crl.pem, NAME.crt/.key of the tenant)
          --ca-key-dir the deployment CA's key directory (ca.key): agent certificates are issued from it
          --registrar the registrar's agent port, e.g. https://127.0.0.1:8890
          --verifier  the verifier's tenant port, e.g. https://127.0.0.1:8881
          --push      push mode: agents post evidence to this verifier agent port (e.g. https://127.0.0.1:8880)
                      instead of serving quotes
          --kbs       key-broker load: once every agent is Attested, whole handshakes (auth, attest, resource) with
                      each --kbs-concurrency's workers against this broker; prints "measuring c=C" then one "kbs c=C …" line
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            var options = ParseOptions(args.Skip(1));
            switch (args.FirstOrDefault())
            {
                case "ek-ca":
                    using (EkAuthority.OpenOrCreate(Path.Combine(Required(options, "work"), "ek-ca")))
                        Console.WriteLine(Path.Combine(Path.GetFullPath(Required(options, "work")), "ek-ca", EkAuthority.CertificateFile));
                    return 0;
                case "run":
                    return await RunFleetAsync(options).ConfigureAwait(false);
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"loadsim: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private static async Task<int> RunFleetAsync(Dictionary<string, string> options)
    {
        var pki = Required(options, "pki");
        var fleetOptions = new FleetOptions(
            Int(options, "agents", null),
            pki,
            Required(options, "ca-key-dir"),
            Required(options, "work"),
            Int(options, "port", null),
            options.TryGetValue("first-address", out var first) ? IPAddress.Parse(first) : FleetOptions.DefaultFirstAddress,
            Int(options, "launch-pcr", 13),
            Int(options, "event-every", 10));
        var parallel = Int(options, "parallel", 16);
        var policy = options.GetValueOrDefault("policy", "loadsim");

        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        var clock = Stopwatch.StartNew();
        using var fleet = SimulatedFleet.Create(fleetOptions);
        Log($"{fleet.Agents.Count} agents created in {clock.Elapsed.TotalSeconds:F1} s");
        using var tenantIdentity = TlsIdentity.FromDirectory(pki, Required(options, "tenant"));
        using var trust = CaBundle.Load(Path.Combine(pki, CertificateAuthority.CertificateFile));
        var clients = new ServiceHttpClientFactory(tenantIdentity);
        using var registrarHttp = clients.Create(new Uri(Required(options, "registrar")), ServiceRoles.Registrar);
        using var verifierHttp = clients.Create(new Uri(Required(options, "verifier")), ServiceRoles.Verifier);

        await using var server = await PullServer.StartAsync(fleet, trust, stop.Token).ConfigureAwait(false);
        clock.Restart();
        await fleet.RegisterAsync(new RegistrarClient(registrarHttp), parallel, stop.Token).ConfigureAwait(false);
        Log($"{fleet.Agents.Count} agents registered and activated in {clock.Elapsed.TotalSeconds:F1} s");
        var verifier = new VerifierClient(verifierHttp);
        await verifier.AddPolicyAsync(fleet.Policy(policy), stop.Token).ConfigureAwait(false);
        clock.Restart();
        var pushUrl = options.GetValueOrDefault("push");
        await fleet.AddToVerifierAsync(verifier, policy, pushUrl is null ? AttestationModes.Pull : AttestationModes.Push, parallel, stop.Token)
            .ConfigureAwait(false);
        Log($"{fleet.Agents.Count} agents added to the verifier in {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine("ready");

        var push = pushUrl is not null
            ? fleet.Agents.Select(a => new PushClient(a, new Uri(pushUrl), trust)).ToList()
            : [];
        using var kbsHttp = options.TryGetValue("kbs", out var kbs) ? clients.Create(new Uri(kbs), ServiceRoles.Kbs) : null;
        var kbsLoad = kbsHttp is null
            ? Task.CompletedTask
            : new KbsLoad(fleet, kbsHttp, new Uri(kbs!), KbsResourceUri.Parse("kbs:///" + Required(options, "kbs-resource")))
                .RunAsync(verifier, Ints(options, "kbs-concurrency", "8"), TimeSpan.FromSeconds(Int(options, "kbs-warmup", 10)),
                    TimeSpan.FromSeconds(Int(options, "kbs-window", 30)), stop.Token);
        try
        {
            // Each pushing agent starts at a random point of the first interval, as a fleet booted over time would.
            var interval = TimeSpan.FromSeconds(2);
            await Task.WhenAll(push.Select(p => p.RunAsync(interval * Random.Shared.NextDouble(), stop.Token))
                .Append(kbsLoad).Append(Task.Delay(Timeout.Infinite, stop.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM or SIGINT: stop serving and pushing.
        }
        Log($"served {fleet.Agents.Sum(a => (long)a.QuotesServed)} quotes" + (push.Count == 0 ? ""
            : $"; pushed {push.Sum(p => p.Affirmed)} affirming, {push.Sum(p => p.Contraindicated)} contraindicated, {push.Sum(p => p.Faults)} faults"));
        foreach (var client in push)
            client.Dispose();
        return 0;
    }

    private static void Log(string message) => Console.Error.WriteLine($"loadsim: {message}");

    private static Dictionary<string, string> ParseOptions(IEnumerable<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || !e.MoveNext())
                throw new ArgumentException($"expected --OPTION VALUE, got '{name}'");
            options[name[2..]] = e.Current;
        }
        return options;
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

    private static int Int(Dictionary<string, string> options, string name, int? fallback) =>
        options.TryGetValue(name, out var text)
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw new ArgumentException($"--{name} must be a number, got '{text}'")
            : fallback ?? throw new ArgumentException($"--{name} is required");

    private static int[] Ints(Dictionary<string, string> options, string name, string fallback) =>
        [.. options.GetValueOrDefault(name, fallback).Split(',').Select(part =>
            int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new ArgumentException($"--{name} must be positive numbers separated by commas, got '{part}'"))];
}
