using System.Text;
using TrustLaunch.Testing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Measurement.Tests;

/// <summary>The log against a real swtpm; each test power-cycles it first so PCR 13 starts at zero.</summary>
public sealed class EventLogTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>, IAsyncLifetime, IDisposable
{
    private const int Pcr = LaunchPcr.Default;
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-eventlog-").FullName;
    private TpmDevice _device = null!;

    public async Task InitializeAsync()
    {
        _device = tpm.OpenDevice();
        await PowerCycleAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _device.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task PowerCycleAsync()
    {
        await tpm.Control.InitAsync();
        await _device.StartupAsync(TpmSu.Clear);
    }

    private async Task<byte[]> ReadPcrAsync() =>
        (await _device.ReadPcrsAsync([new PcrSelection(TpmAlgId.Sha256, [Pcr])]))[TpmAlgId.Sha256, Pcr];

    private Task ExtendAsync(byte[] digest, CancellationToken cancellationToken) =>
        _device.ExtendPcrAsync(Pcr, [(TpmAlgId.Sha256, digest)], cancellationToken);

    private async Task<EventLog> OpenReconciledAsync(ReconcileOutcome expected = ReconcileOutcome.Consistent)
    {
        var log = EventLog.Open(_directory, Pcr);
        var result = log.Reconcile(await ReadPcrAsync());
        Assert.Equal(expected, result.Outcome);
        return log;
    }

    private static Task<CelRecord> AppendStartedAsync(EventLog log, string container, Func<byte[], CancellationToken, Task> extend) =>
        log.AppendAsync(LaunchEvents.ContainerStarted, new ContainerEvent(container), LaunchEventsJsonContext.Default.ContainerEvent, extend);

    private string SegmentPath(int bootCount) => Path.Combine(_directory, $"segment-{bootCount:D6}.jsonl");

    [Fact]
    public async Task AppendAsync_ThenReadFrom_CommittedRecordsReplayToTpmPcr()
    {
        using (var log = await OpenReconciledAsync())
        {
            for (var i = 0; i < 3; i++)
                Assert.Equal(i, (await AppendStartedAsync(log, $"c{i}", ExtendAsync)).RecNum);
            Assert.Equal(3, log.Count);
            Assert.Equal("trustlaunch ContainerStarted {\"container\":\"c2\"}", Assert.Single(log.ReadFrom(2)).Content);
            Assert.Empty(log.ReadFrom(3));
            var pcr = await ReadPcrAsync();
            Assert.Equal(pcr, log.PcrValue);
            Assert.True(EventLogReplay.Replay(log.ReadFrom(0), Pcr, pcr).IsValid);
        }
        using var reopened = await OpenReconciledAsync();
        Assert.Equal(3, reopened.Count);
        Assert.Equal(EventLogState.Ready, reopened.State);
        Assert.Null(reopened.Problem);
    }

    [Fact]
    public async Task AppendAsync_BeforeReconcile_Refused()
    {
        using var log = EventLog.Open(_directory, Pcr);
        var e = await Assert.ThrowsAsync<EventLogException>(() => AppendStartedAsync(log, "c", ExtendAsync));
        Assert.Equal("the event log refuses appends: the event log has not been reconciled with the PCR yet", e.Message);
    }

    [Fact]
    public async Task Reconcile_CrashBetweenWriteAndExtend_PendingEntryDropped()
    {
        using (var log = await OpenReconciledAsync())
        {
            await AppendStartedAsync(log, "c0", ExtendAsync);
            await Assert.ThrowsAsync<IOException>(() => AppendStartedAsync(log, "c1", (_, _) => throw new IOException("crash")));
            Assert.Equal(EventLogState.Unreconciled, log.State);
            Assert.Equal("appending record 1 failed after it was written (crash): reconcile with PCR 13 before appending", log.Problem);
        }
        Assert.Contains("c1", File.ReadAllText(SegmentPath(0)));

        using var reopened = EventLog.Open(_directory, Pcr);
        var result = reopened.Reconcile(await ReadPcrAsync());
        Assert.Equal(new ReconcileResult(ReconcileOutcome.DroppedPendingEntry, "record 1 was written but never extended into PCR 13: dropped"), result);
        Assert.DoesNotContain("c1", File.ReadAllText(SegmentPath(0)));
        Assert.Equal(1, (await AppendStartedAsync(reopened, "c2", ExtendAsync)).RecNum);
        Assert.True(EventLogReplay.Replay(reopened.ReadFrom(0), Pcr, await ReadPcrAsync()).IsValid);
    }

    [Fact]
    public async Task Reconcile_CrashAfterExtendBeforeCommit_PendingEntryCommitted()
    {
        using (var log = await OpenReconciledAsync())
        {
            await AppendStartedAsync(log, "c0", ExtendAsync);
            await Assert.ThrowsAsync<IOException>(() => AppendStartedAsync(log, "c1", async (digest, ct) =>
            {
                await ExtendAsync(digest, ct);
                throw new IOException("crash");
            }));
        }

        using var reopened = EventLog.Open(_directory, Pcr);
        Assert.Equal(1, reopened.Count);
        var result = reopened.Reconcile(await ReadPcrAsync());
        Assert.Equal(new ReconcileResult(ReconcileOutcome.CommittedPendingEntry, "record 1 was extended into PCR 13 before the crash: committed"), result);
        Assert.Equal(2, reopened.Count);
        Assert.Equal(2, (await AppendStartedAsync(reopened, "c2", ExtendAsync)).RecNum);
        Assert.True(EventLogReplay.Replay(reopened.ReadFrom(0), Pcr, await ReadPcrAsync()).IsValid);
    }

    [Fact]
    public async Task Reconcile_FailedExtendInSameProcess_ReconcilesWithoutReopen()
    {
        using var log = await OpenReconciledAsync();
        await Assert.ThrowsAsync<IOException>(() => AppendStartedAsync(log, "c0", (_, _) => throw new IOException("TPM busy")));
        await Assert.ThrowsAsync<EventLogException>(() => AppendStartedAsync(log, "c1", ExtendAsync));
        Assert.Equal(ReconcileOutcome.DroppedPendingEntry, log.Reconcile(await ReadPcrAsync()).Outcome);
        Assert.Equal(0, (await AppendStartedAsync(log, "c1", ExtendAsync)).RecNum);
    }

    [Fact]
    public async Task Open_TornTrailingLine_DiscardedAndLogUsable()
    {
        using (var log = await OpenReconciledAsync())
            await AppendStartedAsync(log, "c0", ExtendAsync);
        await File.AppendAllTextAsync(SegmentPath(0), "{\"record\":{\"recnum\":1,\"pc");

        using var reopened = await OpenReconciledAsync();
        Assert.Equal(25, reopened.TornBytesDiscarded);
        Assert.Equal(1, (await AppendStartedAsync(reopened, "c1", ExtendAsync)).RecNum);
        Assert.Equal(4, File.ReadAllLines(SegmentPath(0)).Length);
    }

    [Fact]
    public async Task Reconcile_PcrExtendedBehindTheLogsBack_UnreconcilableWithExactReason()
    {
        using (var log = await OpenReconciledAsync())
            await AppendStartedAsync(log, "c0", ExtendAsync);
        var expected = await ReadPcrAsync();
        await ExtendAsync(new byte[32], CancellationToken.None);
        var found = await ReadPcrAsync();

        using var reopened = EventLog.Open(_directory, Pcr);
        var result = reopened.Reconcile(found);
        var reason = $"PCR 13 does not match the event log: expected {Convert.ToHexStringLower(expected)} from 1 committed entries, " +
            $"found {Convert.ToHexStringLower(found)}; the PCR was extended outside the log or the log lost entries";
        Assert.Equal(new ReconcileResult(ReconcileOutcome.Unreconcilable, reason), result);
        Assert.Equal((EventLogState.Unreconcilable, reason), (reopened.State, reopened.Problem));
        var e = await Assert.ThrowsAsync<EventLogException>(() => AppendStartedAsync(reopened, "c1", ExtendAsync));
        Assert.Equal("the event log refuses appends: " + reason, e.Message);
    }

    [Fact]
    public async Task Reconcile_EditedRecordOnDisk_CorruptWithReplayReason()
    {
        using (var log = await OpenReconciledAsync())
        {
            await AppendStartedAsync(log, "c0", ExtendAsync);
            await AppendStartedAsync(log, "c1", ExtendAsync);
        }
        var path = SegmentPath(0);
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("c1", "cX"));

        using var reopened = EventLog.Open(_directory, Pcr);
        Assert.Equal(
            new ReconcileResult(ReconcileOutcome.Unreconcilable, "the event log is corrupt: digest mismatch at recnum 1: the sha256 digest is not SHA-256 of the content"),
            reopened.Reconcile(await ReadPcrAsync()));
    }

    [Fact]
    public async Task Reconcile_MissingCommitMarkerInTheMiddle_CorruptNamingTheLine()
    {
        using (var log = await OpenReconciledAsync())
        {
            await AppendStartedAsync(log, "c0", ExtendAsync);
            await AppendStartedAsync(log, "c1", ExtendAsync);
        }
        var lines = File.ReadAllLines(SegmentPath(0)).ToList();
        lines.RemoveAt(1);
        await File.WriteAllLinesAsync(SegmentPath(0), lines);

        using var reopened = EventLog.Open(_directory, Pcr);
        Assert.Equal(
            "the event log is corrupt: segment-000000.jsonl line 2: record 1 follows the uncommitted record 0",
            reopened.Reconcile(await ReadPcrAsync()).Description);
    }

    [Fact]
    public async Task Reconcile_TpmPowerCycled_NewBootSegment()
    {
        using var log = await OpenReconciledAsync();
        await AppendStartedAsync(log, "c0", ExtendAsync);
        await AppendStartedAsync(log, "c1", ExtendAsync);

        await PowerCycleAsync();
        Assert.Equal(
            new ReconcileResult(ReconcileOutcome.NewBootSegment, "PCR 13 is zeros: the TPM was reset; boot segment 1 begins"),
            log.Reconcile(await ReadPcrAsync()));
        Assert.Equal((1L, 0L), (log.BootCount, log.Count));
        Assert.Empty(log.ReadFrom(0));
        Assert.Equal(0, (await AppendStartedAsync(log, "c2", ExtendAsync)).RecNum);
        Assert.True(EventLogReplay.Replay(log.ReadFrom(0), Pcr, await ReadPcrAsync()).IsValid);
        Assert.Equal(4, File.ReadAllLines(SegmentPath(0)).Length);
        log.Dispose();

        using var reopened = await OpenReconciledAsync();
        Assert.Equal((1L, 1L), (reopened.BootCount, reopened.Count));
    }

    [Fact]
    public async Task Open_SecondWriter_RefusedInProcessAndByOtherProcesses()
    {
        using var log = EventLog.Open(_directory, Pcr);
        var e = Assert.Throws<EventLogException>(() => EventLog.Open(_directory, Pcr));
        Assert.Equal($"the event log in '{_directory}' is in use by another writer (its lock file is held)", e.Message);
        // The lock is a real flock: another process cannot take it either.
        var other = await ProcessRunner.RunAsync("flock", ["--nonblock", Path.Combine(_directory, "lock"), "true"]);
        Assert.Equal(1, other.ExitCode);
        log.Dispose();
        using var again = EventLog.Open(_directory, Pcr);
    }

    [Theory]
    [InlineData(16, "PCR 16 is the debug PCR, resettable at any time: launch measurements must not go there")]
    [InlineData(23, "PCR 23 is the application PCR, resettable by software: launch measurements must not go there")]
    [InlineData(24, "PCR 24 does not exist: PCRs run from 0 to 23")]
    public void Open_UnusablePcr_Refused(int pcr, string reason) =>
        Assert.StartsWith(reason, Assert.Throws<ArgumentOutOfRangeException>(() => EventLog.Open(_directory, pcr)).Message);

    [Fact]
    public async Task AppendAsync_ManyInParallel_LogAndPcrConsistent()
    {
        using (var log = await OpenReconciledAsync())
        {
            var records = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => AppendStartedAsync(log, $"c{i}", ExtendAsync))));
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), records.Select(r => r.RecNum).Order());
            var result = EventLogReplay.Replay(log.ReadFrom(0), Pcr, await ReadPcrAsync());
            Assert.True(result.IsValid, result.Failure?.Reason);
        }
        using var reopened = await OpenReconciledAsync();
        Assert.Equal(40, reopened.Count);
        Assert.Equal(80, File.ReadAllLines(SegmentPath(0), Encoding.UTF8).Length);
    }
}
