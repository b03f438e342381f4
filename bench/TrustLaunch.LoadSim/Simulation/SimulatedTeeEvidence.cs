using System.Text.Json;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// Trustee <c>tpm</c> evidence from a simulated agent's software AK, as the real agent's attester makes it: a quote of
/// all 24 SHA-256 PCRs (the launch PCR as its log replays) whose qualifying data is the report data. The agent's
/// quote counter is left alone, so key-broker load does not advance its launch log.
/// </summary>
public sealed class SimulatedTeeEvidence(SimulatedAgent agent) : ITeeEvidenceSource
{
    private readonly byte[] _akPublic = agent.Tpm.AkPublic.ToTpm2bPublic();

    public string Tee => "tpm";

    public Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, CancellationToken cancellationToken)
    {
        var reportData = TpmTeeEvidence.ReportDataFor(nonce, teePubkey);
        var quote = agent.Log.Quote(agent.Tpm, agent.AgentId, reportData, TpmTeeEvidence.QuotedPcrs, agent.Log.Length);
        return Task.FromResult(TpmTeeEvidence.FromQuote(reportData, _akPublic, quote));
    }
}
