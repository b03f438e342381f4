using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Agent.Attestation;

/// <summary>
/// The launch event log bound to the TPM's launch PCR: one lock serialises appends (durable write, PCR extend, commit)
/// and quotes (quote, PCR read, log read), so a quote's PCR values always match the events returned with it. When log
/// and PCR disagree (at start, or found later) it refuses to measure or quote, and says why. The agent keeps one open
/// for its lifetime; a standalone launcher (<see cref="Launcher.EmbeddedMeasurer"/>) opens one per measurement.
/// </summary>
public sealed class LaunchLog : IDisposable
{
    /// <summary>How often a quote is retaken when its pcrDigest does not match the values read right after it.</summary>
    private const int QuoteAttempts = 3;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TpmDevice _tpm;
    private readonly EventLog _log;
    private readonly ILogger _logger;
    private readonly GoldenValueStore _goldenValues;
    private volatile string? _notReadyReason;

    private LaunchLog(TpmDevice tpm, EventLog log, ILogger logger, GoldenValueStore goldenValues)
    {
        _tpm = tpm;
        _log = log;
        _logger = logger;
        _goldenValues = goldenValues;
    }

    /// <summary>The name of the directory, inside the log's, that keeps the golden values of <c>ImageVerified</c> events.</summary>
    public const string GoldenDirectoryName = "golden";

    public int Pcr => _log.Pcr;

    /// <summary>Null while log and PCR agree; otherwise why quotes and measurements are refused.</summary>
    public string? NotReadyReason => _notReadyReason;

    public long Length => _log.Count;

    /// <summary>Runs between the durable log write and the PCR extend; only the test-only fault switch (<c>TRUSTLAUNCH_AGENT_FAULT</c>) sets it.</summary>
    internal Action? AfterDurableWrite { get; set; }

    /// <summary>Opens the log (taking its writer lock) and reconciles it with the launch PCR of <paramref name="tpm"/>, which it does not own.</summary>
    /// <exception cref="EventLogException">Another process has the log open.</exception>
    public static async Task<LaunchLog> OpenAsync(TpmDevice tpm, string directory, int pcr, ILogger logger, CancellationToken cancellationToken)
    {
        var log = EventLog.Open(directory, pcr);
        var launchLog = new LaunchLog(tpm, log, logger, new GoldenValueStore(Path.Combine(directory, GoldenDirectoryName)));
        try
        {
            await launchLog.ReconcileAsync(cancellationToken).ConfigureAwait(false);
            return launchLog;
        }
        catch
        {
            launchLog.Dispose();
            throw;
        }
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var value = await _tpm.ReadSha256PcrAsync(Pcr, cancellationToken).ConfigureAwait(false);
        var result = _log.Reconcile(value);
        _notReadyReason = result.Outcome == ReconcileOutcome.Unreconcilable ? result.Description : null;
        if (_notReadyReason is { } reason)
            _logger.LogError("Launch log and PCR {Pcr} are not reconciled: {Reason}", Pcr, reason);
        else
            _logger.LogInformation("Launch log reconciled with PCR {Pcr} ({Outcome}: {Description}); {Records} records, boot {BootCount}",
                Pcr, result.Outcome, result.Description, _log.Count, _log.BootCount);
    }

    /// <summary>Appends and extends one event that carries no golden value.</summary>
    public Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, CancellationToken cancellationToken) =>
        MeasureAsync(operation, content, null, cancellationToken);

    /// <summary>Appends and extends one event; an <c>ImageVerified</c>'s golden value (checked by
    /// <see cref="MeasureRequestCheck"/>) is kept, durably, before the event is written.</summary>
    /// <exception cref="LaunchLogNotReadyException">Log and PCR are not reconciled.</exception>
    /// <exception cref="FormatException">The content is not I-JSON.</exception>
    public async Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNotReady();
            if (goldenValue is not null)
                _goldenValues.Put(goldenValue);
            CelRecord record;
            try
            {
                record = await _log.AppendAsync(operation, content, (digest, ct) =>
                {
                    AfterDurableWrite?.Invoke();
                    return _tpm.ExtendSha256PcrAsync(Pcr, digest, ct);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (_log.State == EventLogState.Unreconciled)
            {
                // The append failed after its durable write: whether the extend happened only the PCR can tell.
                await ReconcileAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            var value = await _tpm.ReadSha256PcrAsync(Pcr, cancellationToken).ConfigureAwait(false);
            return new MeasuredEvent(record, Convert.ToHexStringLower(value));
        }
        finally
        {
            _gate.Release();
        }
    }

    public IReadOnlyList<CelRecord> ReadFrom(long since) => _log.ReadFrom(since);

    /// <summary>Quotes the requested sha256 PCRs with the agent's AK (on this log's TPM) and returns the evidence a verifier checks.</summary>
    /// <exception cref="LaunchLogNotReadyException">Log and PCR are not reconciled, or the PCR moved behind the log's back.</exception>
    public async Task<QuoteEvidence> QuoteAsync(AgentKeys keys, string agentId, QuoteQuery query, CancellationToken cancellationToken)
    {
        var selection = new[] { new PcrSelection(TpmAlgId.Sha256, query.Pcrs) };
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNotReady();
            for (var attempt = 1; ; attempt++)
            {
                var signed = await _tpm.QuoteAsync(keys.AkHandle, query.Nonce, selection, cancellationToken).ConfigureAwait(false);
                var values = await _tpm.ReadPcrsAsync(selection, cancellationToken).ConfigureAwait(false);
                var attest = TpmAttest.Parse(signed.Attest);
                if (!CryptographicOperations.FixedTimeEquals(values.ComputeDigest(TpmAlgId.Sha256), attest.PcrDigest))
                {
                    // Only PCRs outside the log change under our lock (firmware, IMA): quote again.
                    if (attempt < QuoteAttempts)
                        continue;
                    throw new InvalidOperationException($"PCR values kept changing during {QuoteAttempts} quotes");
                }
                await CheckLaunchPcrAsync(values, cancellationToken).ConfigureAwait(false);
                var pcrs = values.Entries.Select(e => new PcrValue("sha256", e.Pcr, Convert.ToHexStringLower(values[e.Bank, e.Pcr]))).ToList();
                var events = _log.ReadFrom(query.Since);
                return new QuoteEvidence(agentId, signed.Attest, signed.Signature.ToBytes(), pcrs, Pcr, query.Since,
                    events, _log.Count, attest.ClockInfo.ResetCount, attest.ClockInfo.RestartCount, _log.BootCount, _goldenValues.For(events));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    // The launch PCR must be what the log replays to: anything else was extended behind the log's back.
    private async Task CheckLaunchPcrAsync(PcrValues quoted, CancellationToken cancellationToken)
    {
        var actual = quoted.Selection[0].Pcrs.Contains(Pcr)
            ? quoted[TpmAlgId.Sha256, Pcr]
            : await _tpm.ReadSha256PcrAsync(Pcr, cancellationToken).ConfigureAwait(false);
        var expected = _log.PcrValue;
        if (CryptographicOperations.FixedTimeEquals(actual, expected))
            return;
        _notReadyReason = $"PCR {Pcr} is {Convert.ToHexStringLower(actual)} but the log's {_log.Count} records replay to " +
            $"{Convert.ToHexStringLower(expected)}: the PCR was extended outside the agent";
        _logger.LogError("Launch log and PCR {Pcr} diverged: {Reason}", Pcr, _notReadyReason);
        ThrowIfNotReady();
    }

    private void ThrowIfNotReady()
    {
        if (_notReadyReason is { } reason)
            throw new LaunchLogNotReadyException(reason);
    }

    public void Dispose()
    {
        _log.Dispose();
        _gate.Dispose();
    }
}

/// <summary>The launch log and its PCR disagree; the message says how.</summary>
public sealed class LaunchLogNotReadyException(string reason) : Exception(reason);
