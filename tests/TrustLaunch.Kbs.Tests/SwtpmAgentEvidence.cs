using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Trustee TPM evidence from a real agent's registrar-activated AK on its swtpm: the agent's <c>GET /v1/quote</c>
/// over all 24 SHA-256 PCRs with the report data as qualifying data (the attester the tests drive the broker with).
/// </summary>
public sealed class SwtpmAgentEvidence(HttpClient agentAttestationClient, byte[] akPublic) : ITeeEvidenceSource
{
    private static readonly string AllPcrs = string.Join(',', Enumerable.Range(0, 24));

    public string Tee => "tpm";

    public byte[] AkPublic => akPublic;

    public Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, CancellationToken cancellationToken) =>
        QuoteAsync(TpmTeeEvidence.ReportDataFor(nonce, teePubkey), cancellationToken);

    /// <summary>Evidence whose quote carries <paramref name="reportData"/>, whatever it binds.</summary>
    public async Task<KbsTeeEvidence> QuoteAsync(byte[] reportData, CancellationToken cancellationToken = default)
    {
        var quote = (await agentAttestationClient.GetFromJsonAsync($"/v1/quote?nonce={Convert.ToHexStringLower(reportData)}&pcrs={AllPcrs}",
            ContractsJsonContext.Default.QuoteEvidence, cancellationToken))!;
        return TpmTeeEvidence.FromQuote(reportData, akPublic, quote);
    }
}
