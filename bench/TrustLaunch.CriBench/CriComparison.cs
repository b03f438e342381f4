using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Tests.Cri;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.CriBench;

/// <summary>
/// The same calls, RUNS times each, interleaved, through the CRI endpoint (in-process as in <c>serve agent</c>: a
/// launch log on its own swtpm, local judging by a publisher key) and straight to containerd's socket: PullImage of
/// an image containerd already holds, and CreateContainer + StartContainer of a container in a running pod (stopped
/// and removed outside the timed window). One measurement into the launch log (durable write + PCR extend) is timed
/// on its own. Goal: endpoint ≤ 1.1 × containerd + the measurements the endpoint makes on that path.
/// </summary>
public static class CriComparison
{
    private const string Repository = "cri-bench";

    public static async Task RunAsync(int runs, TextWriter output)
    {
        var containerd = new ContainerdFixture();
        var swtpm = new SwtpmFixture();
        var directory = Directory.CreateTempSubdirectory("trustlaunch-cri-bench-").FullName;
        try
        {
            await containerd.InitializeAsync();
            await swtpm.InitializeAsync();
            using var tpm = swtpm.OpenDevice();
            await tpm.StartupAsync();
            using var log = await LaunchLog.OpenAsync(tpm, Path.Combine(directory, "log"), LaunchPcr.Default, NullLogger.Instance, CancellationToken.None);
            var (image, pushed, _) = await CriPods.PushImageAsync(containerd, Repository);
            var trust = Path.Combine(directory, "publisher.pub.pem");
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                await File.WriteAllTextAsync(trust, key.ExportSubjectPublicKeyInfoPem());
                using var publisher = PemPayloadSigner.FromPem(key.ExportPkcs8PrivateKeyPem());
                await CriGolden.PublishAsync(containerd.SandboxImagePushed.Reference, publisher);
                await CriGolden.PublishAsync(pushed.Reference, publisher);
            }
            var options = new CriOptions
            {
                ListenSocket = Path.Combine(directory, "cri.sock"),
                BackendSocket = containerd.Socket,
                Mirrors = ContainerdFixture.MirroredRegistries.ToDictionary(r => r, _ => containerd.Registry.Host),
            };
            var measurer = new LaunchLogMeasurer(log);
            await using var endpoint = await CriEndpoint.StartAsync(options, ImageJudges.Create(new ImageJudgeOptions("cri-bench") { Trust = trust }), measurer,
                NullLoggerFactory.Instance, []);
            using var viaEndpoint = new ContainerdConnection(options.ListenSocket);
            using var direct = new ContainerdConnection(containerd.Socket);

            output.WriteLine($"containerd {(await direct.Runtime.VersionAsync(new VersionRequest())).RuntimeVersion}, image {image} ({pushed.ManifestDigest}), {runs} runs each, interleaved");
            var paths = new[] { new Route("containerd", direct, directory), new Route("endpoint", viaEndpoint, directory) };
            foreach (var path in paths)
                await path.StartPodAsync();
            var pull = new PullImageRequest { Image = new ImageSpec { Image = image } };
            foreach (var path in paths)
                path.ImageId = (await path.Connection.Images.PullImageAsync(pull)).ImageRef;

            for (var i = 0; i < runs + 1; i++)
            {
                foreach (var path in paths)
                {
                    var started = Stopwatch.GetTimestamp();
                    await path.Connection.Images.PullImageAsync(pull);
                    path.Record(path.Pulls, started, warmUp: i == 0);
                    started = Stopwatch.GetTimestamp();
                    var id = (await path.Connection.Runtime.CreateContainerAsync(path.Container(i))).ContainerId;
                    await path.Connection.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = id });
                    path.Record(path.Launches, started, warmUp: i == 0);
                    await path.Connection.Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = id, Timeout = 0 });
                    await path.Connection.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = id });
                }
            }

            var measure = new List<double>();
            var content = JsonSerializer.SerializeToElement(new ContainerEvent("cri-bench"), LaunchEventsJsonContext.Default.ContainerEvent);
            for (var i = 0; i < runs; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await measurer.MeasureAsync(LaunchEvents.ContainerStarted, content, null);
                measure.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            foreach (var path in paths)
                await path.RemovePodAsync();
            Report(output, paths[0], paths[1], measure);
        }
        finally
        {
            await containerd.DisposeAsync();
            await swtpm.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Report(TextWriter output, Route containerd, Route endpoint, List<double> measure)
    {
        var (m50, m99) = Percentiles(measure);
        output.WriteLine();
        output.WriteLine($"{"",-36} {"ctrd p50",9} {"ctrd p99",9} {"tl p50",9} {"tl p99",9} {"ratio",6} {"goal p50",9}");
        // PullImage measures ImagePulled + ImageVerified; CreateContainer + StartContainer measure ContainerCreated + ContainerStarted.
        Row(output, "PullImage (image already held)", containerd.Pulls, endpoint.Pulls, 2 * m50);
        Row(output, "CreateContainer + StartContainer", containerd.Launches, endpoint.Launches, 2 * m50);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"one measurement (log write + extend)",-36} {"",9} {"",9} {m50,9:F2} {m99,9:F2}"));
        output.WriteLine("goal p50 = 1.1 × containerd p50 + 2 measurements (p50); times in ms");
    }

    private static void Row(TextWriter output, string label, List<double> containerd, List<double> endpoint, double measurements)
    {
        var (c50, c99) = Percentiles(containerd);
        var (e50, e99) = Percentiles(endpoint);
        var goal = 1.1 * c50 + measurements;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label,-36} {c50,9:F2} {c99,9:F2} {e50,9:F2} {e99,9:F2} {e50 / c50,6:F2} {goal,9:F2} {(e50 <= goal ? "met" : "missed")}"));
    }

    /// <summary>Nearest-rank p50 and p99.</summary>
    private static (double P50, double P99) Percentiles(List<double> values)
    {
        var sorted = values.Order().ToArray();
        double Rank(double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return (Rank(0.50), Rank(0.99));
    }

    /// <summary>One way to containerd and what was timed on it.</summary>
    private sealed class Route(string name, ContainerdConnection connection, string directory)
    {
        private PodSandboxConfig _sandbox = null!;
        private string _pod = "";

        public string Name => name;
        public ContainerdConnection Connection => connection;
        public string ImageId { get; set; } = "";
        public List<double> Pulls { get; } = [];
        public List<double> Launches { get; } = [];

        public async Task StartPodAsync()
        {
            _sandbox = CriPods.Sandbox($"bench-{name}", Path.Combine(directory, "pods", name));
            _pod = (await connection.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = _sandbox })).PodSandboxId;
        }

        public CreateContainerRequest Container(int attempt)
        {
            var request = CriPods.Container(_pod, _sandbox, ImageId, "/bin/busybox", "sleep", "3600");
            request.Config.Metadata.Attempt = (uint)attempt;
            return request;
        }

        public void Record(List<double> into, long started, bool warmUp)
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!warmUp)
                into.Add(elapsed);
        }

        public async Task RemovePodAsync()
        {
            await connection.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = _pod });
            await connection.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = _pod });
        }
    }
}
