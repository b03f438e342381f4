using System.Text.Json;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Tests;

/// <summary>Trustee TPM evidence from a software AK (<see cref="SoftwareQuote"/>): the attester seam as the load
/// simulator fills it.</summary>
internal sealed class NodeSoftwareEvidence : ITeeEvidenceSource, IDisposable
{
    public SoftwareQuote Quote { get; } = new();

    public string Tee => "tpm";

    public Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, CancellationToken cancellationToken)
    {
        var reportData = TpmTeeEvidence.ReportDataFor(nonce, teePubkey);
        var quote = Quote.Quote(reportData);
        return Task.FromResult(TpmTeeEvidence.Create(reportData, Quote.AkPublic, Convert.FromBase64String(quote.Message),
            Convert.FromBase64String(quote.Signature), quote.Pcrs));
    }

    public void Dispose() => Quote.Dispose();
}
