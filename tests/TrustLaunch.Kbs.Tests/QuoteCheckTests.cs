using System.Security.Cryptography;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Tests;

public sealed class QuoteCheckTests
{
    private static readonly byte[] ReportData = RandomNumberGenerator.GetBytes(64);

    [Fact]
    public void CheckQuote_SignedByTheAkOverReportData_Accepted()
    {
        using var tpm = new SoftwareQuote();
        TpmAttestationVerifier.CheckQuote(tpm.AkPublic, tpm.Quote(ReportData), ReportData);
    }

    [Fact]
    public void CheckQuote_QualifyingDataNotTheReportData_Refused()
    {
        using var tpm = new SoftwareQuote();
        var e = Assert.Throws<KbsError>(() => TpmAttestationVerifier.CheckQuote(tpm.AkPublic, tpm.Quote(RandomNumberGenerator.GetBytes(64)), ReportData));
        Assert.Equal(("AttestationFailed", "quote refused: nonce mismatch"), (e.Name, e.Message));
    }

    [Fact]
    public void CheckQuote_SignedByAnotherAk_Refused()
    {
        using var tpm = new SoftwareQuote();
        using var other = new SoftwareQuote();
        var e = Assert.Throws<KbsError>(() => TpmAttestationVerifier.CheckQuote(other.AkPublic, tpm.Quote(ReportData), ReportData));
        Assert.Equal(("AttestationFailed", "quote refused: signature invalid"), (e.Name, e.Message));
    }

    [Fact]
    public void CheckQuote_PcrValueChanged_Refused()
    {
        using var tpm = new SoftwareQuote();
        var quote = tpm.Quote(ReportData);
        var pcrs = quote.Pcrs.ToList();
        pcrs[7] = new string('0', 64);
        var e = Assert.Throws<KbsError>(() => TpmAttestationVerifier.CheckQuote(tpm.AkPublic, quote with { Pcrs = pcrs }, ReportData));
        Assert.Equal("AttestationFailed", e.Name);
        Assert.StartsWith("quote refused: ", e.Message);
        Assert.Contains("digest", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void CheckQuote_NotTwentyFourPcrs_InvalidRequest()
    {
        using var tpm = new SoftwareQuote();
        var quote = tpm.Quote(ReportData);
        var e = Assert.Throws<KbsError>(() => TpmAttestationVerifier.CheckQuote(tpm.AkPublic, quote with { Pcrs = quote.Pcrs.Take(23).ToList() }, ReportData));
        Assert.Equal((400, "InvalidRequest", "tpm_quote.pcrs has 23 values, expected 24 (SHA-256 bank)"), (e.Status, e.Name, e.Message));
    }

    [Fact]
    public void CheckQuote_AkPublicNotATpmPublic_Refused()
    {
        using var tpm = new SoftwareQuote();
        var e = Assert.Throws<KbsError>(() => TpmAttestationVerifier.CheckQuote([0, 3, 1, 2, 3], tpm.Quote(ReportData), ReportData));
        Assert.Equal("AttestationFailed", e.Name);
        Assert.StartsWith("quote refused: ", e.Message);
    }
}
