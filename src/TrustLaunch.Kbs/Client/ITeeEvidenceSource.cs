using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Client;

/// <summary>
/// Where a KBS client gets its TEE evidence: the agent's TPM (its registrar-activated AK) or a software AK (load
/// simulation). The evidence must bind <see cref="Attestation.ReportData"/> of its additional evidence, the
/// challenge's nonce and the tee-pubkey, so it is made per handshake.
/// </summary>
public interface ITeeEvidenceSource
{
    /// <summary>The tee type sent at <c>/kbs/v0/auth</c>, e.g. <c>tpm</c>.</summary>
    string Tee { get; }

    Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, CancellationToken cancellationToken);

    /// <summary>Evidence whose report data also binds <paramref name="additionalEvidence"/>, which it carries
    /// (<see cref="Protocol.ContainerEvidence"/>); a source that cannot bind any refuses anything but empty.</summary>
    Task<KbsTeeEvidence> CollectAsync(string nonce, JsonElement teePubkey, string additionalEvidence, CancellationToken cancellationToken) =>
        additionalEvidence.Length == 0 ? CollectAsync(nonce, teePubkey, cancellationToken)
            : throw new NotSupportedException($"the {Tee} evidence source binds no additional evidence");
}

/// <summary>Trustee's <c>tpm</c> evidence from a quote whose qualifying data is the report data.</summary>
public static class TpmTeeEvidence
{
    /// <summary>What the quote selects: every SHA-256 PCR, as Trustee's TPM attester sends them.</summary>
    public static IReadOnlyList<int> QuotedPcrs { get; } = [.. Enumerable.Range(0, 24)];

    /// <summary>The report data a TPM quote must carry as qualifying data.</summary>
    public static byte[] ReportDataFor(string nonce, JsonElement teePubkey, string additionalEvidence = "") =>
        Attestation.ReportData.Compute(additionalEvidence, nonce, teePubkey);

    /// <param name="pcrs">The 24 SHA-256 PCR values (hex) in index order; those the quote selects must be the quoted ones.</param>
    public static KbsTeeEvidence Create(byte[] reportData, byte[] akPublic, byte[] attest, byte[] signature, IReadOnlyList<string> pcrs, string additionalEvidence = "")
    {
        var evidence = new TpmEvidence(Convert.ToBase64String(reportData), Convert.ToBase64String(akPublic),
            new TpmQuoteEvidence(Convert.ToBase64String(attest), Convert.ToBase64String(signature), pcrs));
        return new KbsTeeEvidence(JsonSerializer.SerializeToElement(evidence, KbsJsonContext.Default.TpmEvidence), additionalEvidence);
    }

    /// <summary>The evidence of an agent's quote (<c>GET /v1/quote</c>'s answer) over <see cref="QuotedPcrs"/> whose
    /// qualifying data is <paramref name="reportData"/>; its events are not part of it.</summary>
    public static KbsTeeEvidence FromQuote(byte[] reportData, byte[] akPublic, QuoteEvidence quote, string additionalEvidence = "")
    {
        ArgumentNullException.ThrowIfNull(quote);
        return Create(reportData, akPublic, quote.Quoted, quote.Signature, [.. quote.Pcrs.OrderBy(p => p.Index).Select(p => p.Value)], additionalEvidence);
    }
}
