using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Store;
using TrustLaunch.Tpm;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Standalone measurement (no agent on the node): the agent's own <see cref="LaunchLog"/> — event log reconciled with
/// the launch PCR, durable write before the extend — opened for each measurement and closed after it, so several
/// launcher processes (a run and its detached monitor, parallel runs) take turns on one log. They queue on an
/// exclusive flock of <c>DIR/standalone.lock</c>; whoever holds the log's own writer lock while they hold that one is
/// no standalone launcher but an agent, and is left alone.
/// </summary>
public sealed class EmbeddedMeasurer(string? tpm, string logDirectory, int pcr = LaunchPcr.Default) : IMeasurer
{
    public const string TurnLockFileName = "standalone.lock";

    public string LogDirectory { get; } = Path.GetFullPath(logDirectory);

    public async Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken = default)
    {
        if (MeasureRequestCheck.Validate(new MeasureRequest(operation, content, goldenValue)) is { } problem)
            throw new ArgumentException(problem, nameof(operation));
        PrivateDirectory.Ensure(LogDirectory);
        using var turn = await FileLock.AcquireAsync(Path.Combine(LogDirectory, TurnLockFileName), cancellationToken).ConfigureAwait(false);
        using var device = TpmDevice.Open(tpm);
        await device.StartupAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        LaunchLog log;
        try
        {
            log = await LaunchLog.OpenAsync(device, LogDirectory, pcr, NullLogger.Instance, cancellationToken).ConfigureAwait(false);
        }
        catch (EventLogException e)
        {
            throw new IOException($"the launch log in {LogDirectory} is held by a running agent: measure through its socket (--agent-socket), not --standalone", e);
        }
        using (log)
        {
            try
            {
                return await log.MeasureAsync(operation, content, goldenValue, cancellationToken).ConfigureAwait(false);
            }
            catch (LaunchLogNotReadyException e)
            {
                throw new IOException($"cannot measure {operation} into {LogDirectory}: {e.Message}", e);
            }
        }
    }

    /// <summary>Nothing is held between measurements.</summary>
    public void Dispose()
    {
    }
}
