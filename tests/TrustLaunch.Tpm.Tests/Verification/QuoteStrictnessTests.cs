using System.Security.Cryptography;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>What <see cref="QuoteVerifier"/> refuses by default and what <see cref="QuoteVerificationOptions"/> relaxes.</summary>
public sealed class QuoteStrictnessTests : IDisposable
{
    private const string Sha1Refused = ": SHA-1 is refused unless explicitly allowed";
    private static readonly QuoteVerificationOptions Sha1Allowed = new() { AllowSha1 = true };
    private readonly ECDsa _ecc = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _ecc.Dispose();

    private static void AssertRefused(QuoteFailure failure, string reason, QuoteVerificationResult result)
    {
        Assert.Equal(reason, result.Reason);
        Assert.Equal(failure, result.Failure);
        Assert.False(result.IsValid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(15)]
    public void Verify_NonceShorterThan16Bytes_NonceTooShort(int length)
    {
        // The quote carries exactly that nonce: it is the length that is refused, not a mismatch.
        var q = SoftwareSigner.Quote(_ecc, new AttestBuilder { ExtraData = RandomNumberGenerator.GetBytes(length) });
        AssertRefused(QuoteFailure.NonceTooShort, $"nonce is {length} bytes, at least 16 are required", q.Verify());
    }

    [Fact]
    public void Verify_Nonce16Bytes_IsValid() =>
        Assert.Equal("valid", SoftwareSigner.Quote(_ecc, new AttestBuilder { ExtraData = RandomNumberGenerator.GetBytes(16) }).Verify().Reason);

    [Fact]
    public void Verify_NoSelection_PcrSelectionEmpty()
    {
        var q = SoftwareSigner.Quote(_ecc, new AttestBuilder { Selection = [] });
        Assert.Empty(q.PcrValues);
        AssertRefused(QuoteFailure.PcrSelectionEmpty, "the quote selects no PCRs", q.Verify());
    }

    [Fact]
    public void Verify_SelectionOfBankWithNoPcrs_PcrSelectionEmpty()
    {
        var q = SoftwareSigner.Quote(_ecc, new AttestBuilder { Selection = [new PcrSelection(TpmAlgId.Sha256, [])] });
        AssertRefused(QuoteFailure.PcrSelectionEmpty, "the quote selects no PCRs", q.Verify());
    }

    [Fact]
    public void Verify_Sha1SignatureHash_RefusedUnlessAllowed()
    {
        var builder = new AttestBuilder();
        var attest = builder.Build(TpmAlgId.Sha1);
        var q = new QuoteSample(_ecc, attest, SoftwareSigner.SignEcdsa(_ecc, attest, TpmAlgId.Sha1), builder.PcrValues(), builder.ExtraData);
        AssertRefused(QuoteFailure.Sha1Refused, "the signature hash is sha1" + Sha1Refused, q.Verify());
        Assert.Equal("valid", q.Verify(options: Sha1Allowed).Reason);
    }

    [Fact]
    public void Verify_Sha1Bank_RefusedUnlessAllowed()
    {
        var q = SoftwareSigner.Quote(_ecc, new AttestBuilder { Selection = PcrSelection.ParseList("sha256:0+sha1:7") });
        AssertRefused(QuoteFailure.Sha1Refused, "the quote selects sha1:7" + Sha1Refused, q.Verify());
        Assert.Equal("valid", q.Verify(options: Sha1Allowed).Reason);
    }

    [Fact]
    public void Verify_Sha1SizedPcrDigest_RefusedUnlessAllowed()
    {
        // A SHA-256 signature over a 20-byte pcrDigest: refused as SHA-1 before the digest is even compared.
        var builder = new AttestBuilder();
        var q = SoftwareSigner.Quote(_ecc, builder with { PcrDigest = SHA1.HashData(builder.PcrValues()) });
        AssertRefused(QuoteFailure.Sha1Refused, "the pcr digest is 20 bytes (sha1)" + Sha1Refused, q.Verify());
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", q.Verify(options: Sha1Allowed));
    }

    [Fact]
    public void Verify_UnsafeClockAllowed_IsValid() =>
        Assert.Equal("valid", SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 })
            .Verify(new TpmClockInfo(999, 3, 2, false), new QuoteVerificationOptions { AllowUnsafeClock = true }).Reason);

    // The builder's quote has clock 1000, resetCount 3, restartCount 2.
    [Fact]
    public void Verify_UnsafeClockAllowedButWentBackwards_ClockWentBackwards() =>
        AssertRefused(QuoteFailure.ClockWentBackwards, "clock went backwards",
            SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 })
                .Verify(new TpmClockInfo(1001, 3, 2, true), new QuoteVerificationOptions { AllowUnsafeClock = true }));

    [Fact]
    public void Verify_UnsafeClockWentBackwards_ClockWentBackwardsNotJustUnsafe() =>
        AssertRefused(QuoteFailure.ClockWentBackwards, "clock went backwards",
            SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 }).Verify(new TpmClockInfo(1001, 3, 2, true)));

    [Fact]
    public void Verify_UnsafeClockAfterReset_ClockNotSafeUnlessAllowed()
    {
        var q = SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 });
        var beforeReset = new TpmClockInfo(50_000, 2, 7, true);
        AssertRefused(QuoteFailure.ClockNotSafe, "clock not safe", q.Verify(beforeReset));
        Assert.Equal("valid", q.Verify(beforeReset, new QuoteVerificationOptions { AllowUnsafeClock = true }).Reason);
    }
}
