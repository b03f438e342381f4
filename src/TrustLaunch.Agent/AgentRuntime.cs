using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Configuration;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Tpm;

namespace TrustLaunch.Agent;

/// <summary>The agent's TPM and launch log, opened once at start (before the listeners accept anything).</summary>
public sealed class AgentRuntime(AgentOptions options, ILogger<AgentRuntime> logger) : IDisposable
{
    private AgentTpm? _tpm;
    private LaunchLog? _log;

    public AgentOptions Options => options;
    public AgentTpm Tpm => _tpm ?? throw new InvalidOperationException("the agent runtime is not started");
    public LaunchLog Log => _log ?? throw new InvalidOperationException("the agent runtime is not started");

    public AgentInfo Info => new(options.AgentId, Tpm.Keys.AkPublic.ToTpm2bPublic(), Tpm.Keys.EkPublic.ToTpm2bPublic(),
        Log.Pcr, Log.Length, Log.NotReadyReason is null, Log.NotReadyReason, Version);

    public static string Version { get; } =
        typeof(AgentRuntime).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _tpm = await AgentTpm.OpenAsync(TpmDevice.Open(options.Tpm), options.DataDirectory, options.AkHandle, logger, cancellationToken).ConfigureAwait(false);
        _log = await LaunchLog.OpenAsync(_tpm.Device, options.LogDirectory, options.LaunchPcr, logger, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Agent {AgentId} ready on TPM {Tpm}: AK 0x{AkHandle:x8}, launch PCR {Pcr}",
            options.AgentId, _tpm.Device.Description, options.AkHandle, options.LaunchPcr);
    }

    public void Dispose()
    {
        _log?.Dispose();
        _tpm?.Dispose();
    }
}
