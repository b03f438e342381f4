using TrustLaunch.Agent.Attestation;

namespace TrustLaunch.Agent.Tests.Attestation;

public sealed class QuoteQueryTests
{
    [Fact]
    public void Parse_NonceOnly_QuotesLaunchPcrFromStart()
    {
        var (query, error) = QuoteQuery.Parse("00ff", null, null, launchPcr: 13);

        Assert.Null(error);
        Assert.Equal(new byte[] { 0x00, 0xff }, query!.Nonce);
        Assert.Equal([13], query.Pcrs);
        Assert.Equal(0, query.Since);
    }

    [Fact]
    public void Parse_PcrListAndSince_SortedDistinct()
    {
        var (query, _) = QuoteQuery.Parse(new string('a', 128), "13,0,7,13", "42", launchPcr: 13);

        Assert.Equal([0, 7, 13], query!.Pcrs);
        Assert.Equal(42, query.Since);
        Assert.Equal(64, query.Nonce.Length);
    }

    [Theory]
    [InlineData(null, null, null, "nonce is required (1 to 64 bytes in hex)")]
    [InlineData("abc", null, null, "nonce must be 1 to 64 bytes in hex")]
    [InlineData("zz", null, null, "nonce must be 1 to 64 bytes in hex")]
    [InlineData("0102", "1,24", null, "pcrs must be a comma-separated list of PCR indexes 0-23, got '24'")]
    [InlineData("0102", "1,,2", null, "pcrs must be a comma-separated list of PCR indexes 0-23, got ''")]
    [InlineData("0102", null, "-1", "since must be a record number (0 or more), got '-1'")]
    public void Parse_Malformed_SaysWhy(string? nonce, string? pcrs, string? since, string expected)
    {
        var (query, error) = QuoteQuery.Parse(nonce, pcrs, since, launchPcr: 13);

        Assert.Null(query);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Parse_NonceTooLong_Refused()
    {
        var (_, error) = QuoteQuery.Parse(new string('a', 130), null, null, 13);

        Assert.Equal("nonce must be 1 to 64 bytes in hex", error);
    }
}
