using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Sessions;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Kbs.Attestation;

/// <summary>
/// Checks a <c>tpm</c> attestation on a session, in order: the session's nonce, the tee-pubkey, report_data binding
/// both (<see cref="ReportData"/>), the AK being one the registrar activated, the quote (signed by that AK, qualifying
/// data = report_data, PCR values matching), and the verifier's latest verdict on the node being Attested. Every
/// refusal is a <see cref="KbsError"/> naming the first check that failed.
/// </summary>
public sealed class TpmAttestationVerifier(INodeDirectory nodes, NodeStanding standing)
{
    public const string Tee = "tpm";
    private const int PcrCount = 24;

    /// <returns>The agent, the tee-pubkey, and the container the additional evidence names (null: the node itself).</returns>
    public async Task<(string AgentId, Jwk TeePublicKey, ContainerEvidence? Container)> VerifyAsync(KbsSession session, KbsAttestation attestation, CancellationToken cancellationToken)
    {
        var runtime = attestation.RuntimeData;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(runtime.Nonce), Encoding.UTF8.GetBytes(session.Nonce)))
            throw KbsError.AttestationFailed("runtime-data nonce is not this session's nonce");
        Jwk teeKey;
        try
        {
            teeKey = Jwk.Parse(runtime.TeePubkey);
        }
        catch (FormatException e)
        {
            throw KbsError.InvalidRequest($"runtime-data tee-pubkey: {e.Message}");
        }
        var container = ContainerEvidence.Decode(attestation.TeeEvidence.AdditionalEvidence);
        var evidence = ParseEvidence(attestation.TeeEvidence.PrimaryEvidence);
        var reportData = Base64(evidence.ReportData, "report_data");
        var expected = ReportData.Compute(attestation.TeeEvidence.AdditionalEvidence ?? "", runtime.Nonce, runtime.TeePubkey);
        if (reportData.Length != expected.Length || !CryptographicOperations.FixedTimeEquals(reportData, expected))
            throw KbsError.AttestationFailed(KbsErrorNames.NotBoundDetail);

        var akPublic = Base64(evidence.AkPublic, "ak_public");
        var agentId = await NodeStanding.AskAsync("registrar", () => nodes.FindActivatedAgentAsync(akPublic, cancellationToken)).ConfigureAwait(false)
            ?? throw KbsError.AttestationFailed("the AK is not one the registrar activated");
        CheckQuote(akPublic, evidence.TpmQuote, reportData);
        await standing.RequireAttestedAsync(agentId, cancellationToken).ConfigureAwait(false);
        return (agentId, teeKey, container);
    }

    private static TpmEvidence ParseEvidence(JsonElement primary)
    {
        try
        {
            return primary.Deserialize(KbsJsonContext.Default.TpmEvidence)
                ?? throw KbsError.InvalidRequest("tee-evidence primary_evidence is null");
        }
        catch (JsonException e)
        {
            throw KbsError.InvalidRequest($"tee-evidence primary_evidence is not TPM evidence: {e.Message}");
        }
    }

    internal static void CheckQuote(byte[] akPublic, TpmQuoteEvidence quote, byte[] reportData)
    {
        var message = Base64(quote.Message, "tpm_quote.message");
        var signature = Base64(quote.Signature, "tpm_quote.signature");
        if (quote.Pcrs.Count != PcrCount)
            throw KbsError.InvalidRequest($"tpm_quote.pcrs has {quote.Pcrs.Count} values, expected {PcrCount} (SHA-256 bank)");
        TpmAttest attest;
        AsymmetricAlgorithm ak;
        try
        {
            attest = TpmAttest.Parse(message);
            ak = AkPublicKeys.LoadAttestationKey(akPublic);
        }
        catch (TpmFormatException e)
        {
            throw KbsError.AttestationFailed($"quote refused: {e.Message}");
        }
        using (ak)
        {
            var values = new List<byte>();
            foreach (var selection in attest.PcrSelections)
            {
                if (selection.Bank != TpmAlgId.Sha256)
                    throw KbsError.AttestationFailed($"quote refused: it selects the {selection.Bank} bank, the evidence carries SHA-256 values only");
                foreach (var pcr in selection.Pcrs)
                    values.AddRange(Hex(quote.Pcrs[pcr], pcr));
            }
            var result = QuoteVerifier.Verify(ak, message, signature, values.ToArray(), reportData);
            if (!result.IsValid)
                throw KbsError.AttestationFailed($"quote refused: {result.Reason}");
        }
    }

    private static byte[] Hex(string value, int pcr)
    {
        try
        {
            var bytes = Convert.FromHexString(value);
            return bytes.Length == 32 ? bytes : throw KbsError.InvalidRequest($"tpm_quote.pcrs[{pcr}] is {bytes.Length} bytes, not a SHA-256 value");
        }
        catch (FormatException)
        {
            throw KbsError.InvalidRequest($"tpm_quote.pcrs[{pcr}] is not hex");
        }
    }

    private static byte[] Base64(string value, string member)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            throw KbsError.InvalidRequest($"{member} is not base64");
        }
    }
}
