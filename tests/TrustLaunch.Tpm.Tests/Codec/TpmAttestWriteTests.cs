using System.Security.Cryptography;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Tests.Verification;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Codec;

public sealed class TpmAttestWriteTests
{
    [Fact]
    public void ToBytes_ParsedBuilderQuote_ReproducesTheBytes()
    {
        var bytes = new AttestBuilder { Selection = PcrSelection.ParseList("sha256:0,13+sha1:7") }.Build();

        Assert.Equal(bytes, TpmAttest.Parse(bytes).ToBytes());
    }

    [Fact]
    public void Quote_SignedInSoftware_VerifiesAsAQuote()
    {
        using var ak = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var builder = new AttestBuilder { Selection = PcrSelection.ParseList("sha256:13") };
        var values = builder.PcrValues();
        var clock = new TpmClockInfo(123_456, 4, 2, Safe: true);

        var attest = TpmAttest.Quote([0x00, 0x0B, .. new byte[32]], nonce, clock, 0x2019_1023_0016_3636, builder.Selection, SHA256.HashData(values));

        var parsed = TpmAttest.Parse(attest.Raw);
        Assert.Equal((TpmSt.AttestQuote, clock, builder.Selection[0]), (parsed.Type, parsed.ClockInfo, parsed.PcrSelections[0]));
        var result = QuoteVerifier.Verify(ak, attest.Raw, SoftwareSigner.SignEcdsa(ak, attest.Raw), values, nonce);
        Assert.True(result.IsValid, result.Reason);
    }
}

[Trait("Category", "Slow")]
public sealed class TpmAttestSwtpmRoundTripTests(RealQuoteFixture real) : IClassFixture<RealQuoteFixture>
{
    [Theory]
    [InlineData("quote")]
    [InlineData("certify")]
    public void ToBytes_ParsedSwtpmAttest_ReproducesTheBytes(string kind)
    {
        var bytes = kind == "quote" ? real.Ecc.Attest : real.Certify.Attest;

        Assert.Equal(bytes, TpmAttest.Parse(bytes).ToBytes());
    }
}
