using System.Text.Json;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Agent.Kbs;

/// <summary>
/// Trustee <c>tpm</c> evidence from this agent's registrar-activated AK: a quote of all 24 SHA-256 PCRs taken through
/// <see cref="LaunchLog.QuoteAsync"/> (so the launch PCR is checked against the log, as for the verifier's quotes)
/// whose qualifying data is the report data binding the broker's nonce and the handshake's tee-pubkey.
/// </summary>
public sealed class AgentTeeEvidence(AgentRuntime agent) : ITeeEvidenceSource
{
    public string Tee => "tpm";

    /// <exception cref="LaunchLogNotReadyException">Log and launch PCR disagree: the agent quotes for nobody.</exception>
    public Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, CancellationToken cancellationToken) =>
        CollectAsync(nonce, teePubkey, "", cancellationToken);

    /// <summary>Evidence binding <paramref name="additionalEvidence"/> too (the container a workload gateway asks for).</summary>
    public async Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, string additionalEvidence, CancellationToken cancellationToken)
    {
        var reportData = TpmTeeEvidence.ReportDataFor(nonce, teePubkey, additionalEvidence);
        // Since the log's end: the broker reads the node's standing from the verifier, not from events sent here.
        var query = new QuoteQuery(reportData, TpmTeeEvidence.QuotedPcrs, agent.Log.Length);
        var quote = await agent.Log.QuoteAsync(agent.Tpm.Keys, agent.Options.AgentId, query, cancellationToken).ConfigureAwait(false);
        return TpmTeeEvidence.FromQuote(reportData, agent.Tpm.Keys.AkPublic.ToTpm2bPublic(), quote, additionalEvidence);
    }
}
