using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// What the workload gateway (CoCo's api-server-rest) and the guest-component gRPC APIs (attestation agent,
/// confidential data hub) do, once, for a caller known from its connection (<see cref="WorkloadIdentity"/>):
/// resources and sealed secrets through <see cref="NodeKeyBroker"/> / <see cref="NodeSecrets"/> (the broker decides
/// with the calling container's image), the broker's attestation token and tee key, TPM evidence binding the caller's
/// runtime data, and a container's own measured events (<c>WorkloadEvent</c>).
/// </summary>
public sealed class WorkloadServices(AgentRuntime agent, NodeKeyBroker broker, NodeSecrets? secrets, ILogger<WorkloadServices> logger)
{
    /// <summary>Runtime data longer than this is not a nonce or a digest.</summary>
    public const int MaxRuntimeDataLength = 1024;

    public Task<byte[]> ResourceAsync(WorkloadIdentity caller, string uri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return broker.FetchAsync(uri, caller.Evidence, cancellationToken);
    }

    /// <summary>The broker's attestation token for the caller (it names the container, so it reads only what the
    /// container may) and the private key of its tee key pair (PKCS#8 PEM).</summary>
    public async Task<WorkloadToken> TokenAsync(WorkloadIdentity caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        using var session = await broker.AttestAsync(caller.Evidence, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Attestation token of {Broker} handed to {Caller}", broker.Broker, Describe(caller));
        return new WorkloadToken(session.Token, session.ExportTeeKeyPem());
    }

    /// <summary>
    /// Trustee <c>tpm</c> evidence whose report data is Trustee's binding (<c>ReportData</c>) of the caller's
    /// container (<see cref="ContainerEvidence"/>, empty for the node) as additional evidence, <paramref name="runtimeData"/>
    /// as the nonce and a JSON null tee-pubkey: <c>{"primary_evidence":{…},"additional_evidence":"…"}</c>.
    /// </summary>
    /// <exception cref="WorkloadRequestRefusedException">Runtime data over <see cref="MaxRuntimeDataLength"/> characters.</exception>
    /// <exception cref="LaunchLogNotReadyException">Log and launch PCR disagree: the agent quotes for nobody.</exception>
    public async Task<byte[]> EvidenceAsync(WorkloadIdentity caller, string runtimeData, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(runtimeData);
        if (runtimeData.Length > MaxRuntimeDataLength)
            throw new WorkloadRequestRefusedException($"runtime_data is {runtimeData.Length} characters, more than {MaxRuntimeDataLength}");
        var additional = caller.Evidence?.Encode() ?? "";
        using var noKey = JsonDocument.Parse("null");
        var reportData = TrustLaunch.Kbs.Attestation.ReportData.Compute(additional, runtimeData, noKey.RootElement);
        var query = new QuoteQuery(reportData, TpmTeeEvidence.QuotedPcrs, agent.Log.Length);
        var quote = await agent.Log.QuoteAsync(agent.Tpm.Keys, agent.Options.AgentId, query, cancellationToken).ConfigureAwait(false);
        var evidence = TpmTeeEvidence.FromQuote(reportData, agent.Tpm.Keys.AkPublic.ToTpm2bPublic(), quote, additional);
        return JsonSerializer.SerializeToUtf8Bytes(evidence, KbsJsonContext.Default.KbsTeeEvidence);
    }

    /// <summary>Appends the caller's event to the launch log as <c>WorkloadEvent</c>, naming its container (none for the node's own).</summary>
    /// <exception cref="WorkloadRequestRefusedException">Domain <c>trustlaunch</c>, or a malformed event.</exception>
    public async Task<MeasuredWorkloadEvent> MeasureAsync(WorkloadIdentity caller, string domain, string operation, string content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (WorkloadEventEvent.Problem(domain ?? "", operation ?? "", content ?? "") is { } problem)
            throw new WorkloadRequestRefusedException(problem);
        var measured = await agent.Log.MeasureAsync(LaunchEvents.WorkloadEvent, JsonSerializer.SerializeToElement(
            new WorkloadEventEvent(caller.IsNode ? null : caller.Container, domain!, operation!, content!), LaunchEventsJsonContext.Default.WorkloadEventEvent), cancellationToken).ConfigureAwait(false);
        return new MeasuredWorkloadEvent(measured.Record.RecNum);
    }

    /// <summary>Opens a sealed secret for the caller (both releases name its container).</summary>
    /// <exception cref="WorkloadRequestRefusedException">The agent trusts no sealed secret signers (no <c>--secret-trust</c>).</exception>
    public Task<byte[]> UnsealAsync(WorkloadIdentity caller, string name, string sealedText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (secrets is null)
            throw new WorkloadRequestRefusedException("this agent trusts no sealed secret signers: start it with serve agent --secret-trust DIR (KID.pem public keys)");
        return secrets.UnsealAsync(name, sealedText, caller.Evidence, cancellationToken);
    }

    private static string Describe(WorkloadIdentity caller) => caller.IsNode ? "the node" : $"container {caller.Container}";
}

/// <summary>CoCo's <c>{"token","tee_keypair"}</c>.</summary>
public sealed record WorkloadToken(
    [property: System.Text.Json.Serialization.JsonPropertyName("token")] string Token,
    [property: System.Text.Json.Serialization.JsonPropertyName("tee_keypair")] string TeeKeyPair)
{
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, GatewayJsonContext.Default.WorkloadToken);
}

/// <summary>The record number a workload event was measured as.</summary>
public sealed record MeasuredWorkloadEvent(long RecNum);

/// <summary>A request of a workload refused here, before anything is fetched or measured (the reason named).</summary>
public sealed class WorkloadRequestRefusedException(string message) : Exception(message);
