using System.Diagnostics;
using System.Globalization;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// Key-broker load: once the verifier holds every simulated agent Attested, for each concurrency C in turn, C workers
/// each run whole handshakes back to back (auth → attest with <see cref="SimulatedTeeEvidence"/> → resource → JWE
/// opened), each worker as one agent in turn. After a warm-up it prints <c>measuring c=C</c>, then, after the window,
/// one line <c>kbs c=C handshakes=N seconds=S rate=R p50_ms=A p99_ms=B errors=E</c> (and the first error, if any).
/// </summary>
public sealed class KbsLoad(SimulatedFleet fleet, HttpClient http, Uri broker, KbsResourceUri resource)
{
    public async Task RunAsync(VerifierClient verifier, IReadOnlyList<int> concurrencies, TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(concurrencies);
        await WaitAllAttestedAsync(verifier, cancellationToken).ConfigureAwait(false);
        var clients = fleet.Agents.Select(a => new KbsClient(http, broker, new SimulatedTeeEvidence(a))).ToList();
        foreach (var concurrency in concurrencies)
            await MeasureAsync(clients, concurrency, warmup, window, cancellationToken).ConfigureAwait(false);
    }

    private async Task MeasureAsync(List<KbsClient> clients, int concurrency, TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        using var warm = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        warm.CancelAfter(warmup);
        await RunWorkersAsync(clients, concurrency, null, warm.Token).ConfigureAwait(false);

        var samples = new List<double>[concurrency];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"measuring c={concurrency}"));
        var clock = Stopwatch.StartNew();
        using var measured = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        measured.CancelAfter(window);
        var errors = await RunWorkersAsync(clients, concurrency, samples, measured.Token).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var latencies = samples.SelectMany(s => s).Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kbs c={concurrency} handshakes={latencies.Length} seconds={seconds:F1} rate={latencies.Length / seconds:F1} p50_ms={Percentile(latencies, 0.50):F1} p99_ms={Percentile(latencies, 0.99):F1} errors={errors.Count}"));
        if (errors.Count > 0)
            Console.WriteLine($"kbs first error: {errors[0]}");
    }

    private async Task<List<string>> RunWorkersAsync(List<KbsClient> clients, int concurrency, List<double>[]? samples, CancellationToken stop)
    {
        var errors = new List<string>();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = new List<double>();
            if (samples is not null)
                samples[worker] = mine;
            for (var i = worker; !stop.IsCancellationRequested; i += concurrency)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var bytes = await clients[i % clients.Count].FetchAsync(resource, stop).ConfigureAwait(false);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Array.Clear(bytes);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is KbsRefusedException or KbsProtocolException or HttpRequestException)
                {
                    lock (errors)
                        errors.Add(e.Message);
                }
            }
        }, CancellationToken.None))).ConfigureAwait(false);
        return errors;
    }

    private async Task WaitAllAttestedAsync(VerifierClient verifier, CancellationToken cancellationToken)
    {
        var ids = fleet.Agents.Select(a => a.AgentId).ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            var attested = (await verifier.ListAgentsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                .Count(s => ids.Contains(s.AgentId) && s.State == AgentStates.Attested);
            if (attested == ids.Count)
                return;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
