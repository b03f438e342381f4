using BenchmarkDotNet.Attributes;
using TrustLaunch.Measurement;

namespace TrustLaunch.Benchmarks;

/// <summary>
/// The verifier's log side of a poll, as <c>Appraiser</c> runs it: a <see cref="ReplayState"/> restored from the
/// stored PCR value and record number, checking and replaying the records new since (here 100, following 100 replayed
/// earlier) in the hot-path mode (<see cref="EventLineCheck.Verbatim"/>), against the quoted value; the full replay
/// from zeros with canonical lines, as tools and the agent's own checks run it; and the agent's side of a
/// measurement: formatting and parsing an event line.
/// </summary>
[MemoryDiagnoser]
public class EventLogReplayBenchmarks
{
    private const int Entries = 100;
    private List<CelRecord> _log = null!;
    private byte[] _pcrValue = null!;
    private List<CelRecord> _newRecords = null!;
    private byte[] _storedPcrValue = null!;
    private ContainerCreatedEvent _event = null!;
    private string _line = null!;

    [GlobalSetup]
    public void Setup()
    {
        _event = new ContainerCreatedEvent("3f0c2a9d1e7b", "pod-7d9c", "default", "registry.example/app:1.4",
            "sha256:" + new string('a', 64), "sha256:" + new string('b', 64), ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault);
        _line = LaunchEventLines.ContainerCreated(_event);
        _log = Enumerable.Range(0, Entries)
            .Select(i => EventLogReplay.CreateRecord(i, LaunchPcr.Default, LaunchEventLines.ContainerCreated(_event with { Container = $"container-{i}" })))
            .ToList();
        _pcrValue = _log.Aggregate(new byte[32], (pcr, r) => EventLogReplay.Extend(pcr, Convert.FromHexString(r.Digests[0].Digest)));
        _newRecords = Enumerable.Range(Entries, Entries)
            .Select(i => EventLogReplay.CreateRecord(i, LaunchPcr.Default, LaunchEventLines.ContainerCreated(_event with { Container = $"container-{i}" })))
            .ToList();
        _storedPcrValue = _newRecords.Aggregate(_pcrValue, (pcr, r) => EventLogReplay.Extend(pcr, Convert.FromHexString(r.Digests[0].Digest)));
        if (!ReplayAndVerify() || !VerifierIncrementalReplay100Entries())
            throw new InvalidOperationException("the sample log does not replay");
    }

    [Benchmark]
    public bool VerifierIncrementalReplay100Entries() =>
        ReplayState.Restore(LaunchPcr.Default, _pcrValue, Entries, EventLineCheck.Verbatim).Apply(_newRecords, _storedPcrValue).IsValid;

    [Benchmark]
    public bool ReplayAndVerify100Entries() => ReplayAndVerify();

    [Benchmark]
    public string FormatEventLine() => LaunchEventLines.ContainerCreated(_event);

    [Benchmark]
    public EventLine ParseEventLine() => EventLine.Parse(_line);

    private bool ReplayAndVerify() => EventLogReplay.Replay(_log, LaunchPcr.Default, _pcrValue).IsValid;
}
