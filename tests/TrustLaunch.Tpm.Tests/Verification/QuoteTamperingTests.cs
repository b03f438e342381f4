using System.Text.RegularExpressions;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>Quotes from a real (software) TPM, tampered byte by byte.</summary>
public sealed partial class QuoteTamperingTests(RealQuoteFixture quotes) : IClassFixture<RealQuoteFixture>
{
    private static void AssertRefused(QuoteFailure failure, string reason, QuoteVerificationResult result)
    {
        Assert.Equal(reason, result.Reason);
        Assert.Equal(failure, result.Failure);
        Assert.False(result.IsValid);
    }

    private static QuoteVerificationResult VerifyAttest(QuoteSample q, byte[] attest) => (q with { Attest = attest }).Verify();

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_UntouchedTpmQuote_IsValid(string type)
    {
        var q = quotes.Get(type);
        var result = q.Verify();
        Assert.Equal("valid", result.Reason);
        Assert.True(result.IsValid);
        Assert.Equal(TpmSt.AttestQuote, result.Attest!.Type);
        Assert.Equal(q.Nonce, result.Attest.ExtraData);
        Assert.Equal(RealQuoteFixture.Selection, result.Attest.PcrSelections);
        Assert.NotEqual(new byte[32], q.PcrValues[64..]);
    }

    public static TheoryData<string, string> SignedFields() => new()
    {
        { "ecc", "qualifiedSigner" }, { "rsa", "qualifiedSigner" },
        { "ecc", "extraData" }, { "rsa", "extraData" },
        { "ecc", "clock" }, { "rsa", "clock" },
        { "ecc", "resetCount" }, { "rsa", "resetCount" },
        { "ecc", "restartCount" }, { "rsa", "restartCount" },
        { "ecc", "safe" }, { "rsa", "safe" },
        { "ecc", "firmwareVersion" }, { "rsa", "firmwareVersion" },
        { "ecc", "pcrSelect.hash" }, { "rsa", "pcrSelect.hash" },
        { "ecc", "pcrSelect.hash.unknown" },
        { "ecc", "pcrSelect.bitmap" }, { "rsa", "pcrSelect.bitmap" },
        { "ecc", "pcrDigest" }, { "rsa", "pcrDigest" },
    };

    [Theory]
    [MemberData(nameof(SignedFields))]
    public void Verify_SignedFieldTampered_SignatureInvalid(string type, string field)
    {
        var q = quotes.Get(type);
        var a = q.Attest;
        var at = new AttestLayout(a);
        var tampered = field switch
        {
            "qualifiedSigner" => a.FlipBit(at.Signer + 5),
            "extraData" => a.FlipBit(at.Extra),
            "clock" => a.FlipBit(at.Clock + 7),
            "resetCount" => a.FlipBit(at.ResetCount + 3),
            "restartCount" => a.FlipBit(at.RestartCount + 3),
            "safe" => a.FlipBit(at.Safe),
            "firmwareVersion" => a.FlipBit(at.Firmware),
            "pcrSelect.hash" => a.SetU16(at.Hash, (ushort)TpmAlgId.Sha1),
            "pcrSelect.hash.unknown" => a.SetU16(at.Hash, 0x1234),
            "pcrSelect.bitmap" => a.FlipBit(at.Bitmap, 2),
            "pcrDigest" => a.FlipBit(at.Digest + 31),
            _ => throw new ArgumentException(field),
        };
        Assert.NotNull(TpmAttest.Parse(tampered));
        AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid", VerifyAttest(q, tampered));
    }

    [Fact]
    public void Verify_MagicTampered_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: magic is 0xFF544346, expected 0xFF544347",
            VerifyAttest(quotes.Ecc, quotes.Ecc.Attest.FlipBit(3, 0)));

    [Fact]
    public void Verify_TypeUnknown_Malformed() =>
        AssertRefused(QuoteFailure.Malformed,
            "malformed attestation: TPMS_ATTEST: type 0x8019 is not quote (0x8018), certify (0x8017) or creation (0x801A)",
            VerifyAttest(quotes.Ecc, quotes.Ecc.Attest.SetU16(AttestLayout.Type, 0x8019)));

    [Fact]
    public void Verify_TypeChangedToCertify_MalformedByTrailingBytes()
    {
        // Read as certify, the selection count 00000001 becomes an empty name and a one-byte qualified name.
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        var trailing = at.Length - at.Count - 5;
        AssertRefused(QuoteFailure.Malformed, $"malformed attestation: TPMS_ATTEST: {trailing} unexpected trailing bytes",
            VerifyAttest(quotes.Ecc, a.SetU16(AttestLayout.Type, (ushort)TpmSt.AttestCertify)));
    }

    [Fact]
    public void Verify_RealCertifyAttestation_NotAQuote()
    {
        var result = quotes.Certify.Verify();
        AssertRefused(QuoteFailure.NotAQuote, "not a quote: type 0x8017", result);
    }

    [Fact]
    public void Verify_QualifiedSignerSizeAboveMaximum_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: qualifiedSigner: size 65535 exceeds the maximum of 66",
            VerifyAttest(quotes.Ecc, quotes.Ecc.Attest.SetU16(6, 0xFFFF)));

    [Fact]
    public void Verify_ExtraDataSizeBeyondTheData_Malformed()
    {
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        var cut = a[..(at.Extra + 10)];
        AssertRefused(QuoteFailure.Malformed,
            $"malformed attestation: TPMS_ATTEST: extraData: needs 32 bytes at offset {at.Extra}, only 10 remain",
            VerifyAttest(quotes.Ecc, cut));
    }

    [Fact]
    public void Verify_PcrDigestSizeBeyondTheData_Malformed()
    {
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        AssertRefused(QuoteFailure.Malformed,
            $"malformed attestation: TPMS_ATTEST: attested.quote.pcrDigest: needs 64 bytes at offset {at.Digest}, only 32 remain",
            VerifyAttest(quotes.Ecc, a.SetU16(at.DigestSize, 64)));
    }

    [Fact]
    public void Verify_PcrDigestSizeAboveMaximum_Malformed()
    {
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        AssertRefused(QuoteFailure.Malformed,
            "malformed attestation: TPMS_ATTEST: attested.quote.pcrDigest: size 65 exceeds the maximum of 64",
            VerifyAttest(quotes.Ecc, a.SetU16(at.DigestSize, 65)));
    }

    [Fact]
    public void Verify_PcrSelectCountAboveMaximum_Malformed()
    {
        var a = quotes.Ecc.Attest;
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: pcrSelections.count 17 exceeds 16",
            VerifyAttest(quotes.Ecc, a.SetU32(new AttestLayout(a).Count, 17)));
    }

    [Fact]
    public void Verify_PcrSelectCountZero_MalformedByTrailingBytes()
    {
        // With no selection, the bank id 000B is read as the pcrDigest size.
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        var trailing = at.Length - at.Hash - 2 - 0x0B;
        AssertRefused(QuoteFailure.Malformed, $"malformed attestation: TPMS_ATTEST: {trailing} unexpected trailing bytes",
            VerifyAttest(quotes.Ecc, a.SetU32(at.Count, 0)));
    }

    [Fact]
    public void Verify_PcrSelectCountTwo_Malformed()
    {
        var a = quotes.Ecc.Attest;
        var result = VerifyAttest(quotes.Ecc, a.SetU32(new AttestLayout(a).Count, 2));
        Assert.Equal(QuoteFailure.Malformed, result.Failure);
        Assert.StartsWith("malformed attestation: TPMS_ATTEST: ", result.Reason);
    }

    [Fact]
    public void Verify_SizeofSelectAboveMaximum_Malformed()
    {
        var a = quotes.Ecc.Attest;
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: pcrSelect.sizeofSelect 9 exceeds 8",
            VerifyAttest(quotes.Ecc, a.With(b => b[new AttestLayout(a).SizeofSelect] = 9)));
    }

    [Fact]
    public void Verify_SizeofSelectOneMore_Malformed()
    {
        // The bitmap swallows the high byte of the digest size; the size is then 0x20xx, above 64.
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        var size = 0x2000 | a[at.Digest];
        AssertRefused(QuoteFailure.Malformed,
            $"malformed attestation: TPMS_ATTEST: attested.quote.pcrDigest: size {size} exceeds the maximum of 64",
            VerifyAttest(quotes.Ecc, a.With(b => b[at.SizeofSelect] = 4)));
    }

    [Fact]
    public void Verify_BitmapSelectsPcrAbove23_Malformed()
    {
        var a = quotes.Ecc.Attest;
        var at = new AttestLayout(a);
        // sizeofSelect 4 takes the digest size's high byte (0x00) as bitmap byte 3; make it select PCR 24.
        var tampered = a.With(b => { b[at.SizeofSelect] = 4; b[at.DigestSize] = 0x01; });
        AssertRefused(QuoteFailure.Malformed,
            "malformed attestation: TPMS_ATTEST: pcrSelect selects PCR 24, beyond the 24 PCRs of a PC client TPM",
            VerifyAttest(quotes.Ecc, tampered));
    }

    [Fact]
    public void Verify_SafeNeitherZeroNorOne_Malformed()
    {
        var a = quotes.Ecc.Attest;
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: clockInfo.safe is 2, expected 0 or 1",
            VerifyAttest(quotes.Ecc, a.With(b => b[new AttestLayout(a).Safe] = 2)));
    }

    [GeneratedRegex(@"^malformed attestation: TPMS_ATTEST: [A-Za-z.]+: needs \d+ bytes at offset \d+, only \d+ remain$")]
    private static partial Regex ShortReadAttest();

    [GeneratedRegex(@"^malformed signature: TPMT_SIGNATURE: [A-Za-z.]+: needs \d+ bytes at offset \d+, only \d+ remain$")]
    private static partial Regex ShortReadSignature();

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_AttestTruncatedAtEveryLength_Malformed(string type)
    {
        var q = quotes.Get(type);
        for (var length = 0; length < q.Attest.Length; length++)
        {
            var result = VerifyAttest(q, q.Attest[..length]);
            Assert.Equal(QuoteFailure.Malformed, result.Failure);
            Assert.Matches(ShortReadAttest(), result.Reason);
            Assert.Null(result.Attest);
        }
    }

    [Fact]
    public void Verify_AttestTruncatedInMagic_ExactReason() =>
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: magic: needs 4 bytes at offset 0, only 3 remain",
            VerifyAttest(quotes.Ecc, quotes.Ecc.Attest[..3]));

    [Fact]
    public void Verify_AttestWithTrailingByte_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: 1 unexpected trailing bytes",
            VerifyAttest(quotes.Ecc, [.. quotes.Ecc.Attest, 0]));

    [Fact]
    public void Verify_AttestAboveMaximumSize_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed attestation: TPMS_ATTEST: 2049 bytes exceeds the maximum of 2048",
            VerifyAttest(quotes.Ecc, [.. quotes.Ecc.Attest, .. new byte[2049 - quotes.Ecc.Attest.Length]]));

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_SignatureTruncatedAtEveryLength_Malformed(string type)
    {
        var q = quotes.Get(type);
        for (var length = 0; length < q.Signature.Length; length++)
        {
            var result = (q with { Signature = q.Signature[..length] }).Verify();
            Assert.Equal(QuoteFailure.Malformed, result.Failure);
            Assert.Matches(ShortReadSignature(), result.Reason);
        }
    }

    [Fact]
    public void Verify_SignatureWithTrailingByte_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed signature: TPMT_SIGNATURE: 1 unexpected trailing bytes",
            (quotes.Rsa with { Signature = [.. quotes.Rsa.Signature, 0] }).Verify());

    [Fact]
    public void Verify_EcdsaSignatureRSizeBeyondTheData_Malformed()
    {
        var sig = quotes.Ecc.Signature;
        var result = (quotes.Ecc with { Signature = sig.SetU16(4, 66) }).Verify();
        Assert.Equal(QuoteFailure.Malformed, result.Failure);
        Assert.Equal("malformed signature: TPMT_SIGNATURE: signatureS.size: needs 2 bytes at offset "
            + (6 + 66) + ", only " + (sig.Length - 72) + " remain", result.Reason);
    }

    [Fact]
    public void Verify_RsaSignatureSizeAboveMaximum_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed signature: TPMT_SIGNATURE: sig: size 513 exceeds the maximum of 512",
            (quotes.Rsa with { Signature = quotes.Rsa.Signature.SetU16(4, 513) }).Verify());

    [Fact]
    public void Verify_SignatureHashUnknown_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed signature: TPMT_SIGNATURE: hash 0x000A is not a supported hash",
            (quotes.Ecc with { Signature = quotes.Ecc.Signature.FlipBit(3, 0) }).Verify());

    [Fact]
    public void Verify_SignatureAlgorithmUnknown_Malformed() =>
        AssertRefused(QuoteFailure.Malformed, "malformed signature: TPMT_SIGNATURE: sigAlg 0x0019 is not RSASSA, RSAPSS, ECDSA or HMAC",
            (quotes.Ecc with { Signature = quotes.Ecc.Signature.FlipBit(1, 0) }).Verify());

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_EveryBitOfSignatureFlipped_NeverValid(string type)
    {
        var q = quotes.Get(type);
        // Past alg, hash and the first size prefix: the value bytes (for ECDSA also s's size prefix).
        var sig = TpmSignature.Parse(q.Signature);
        var sSizeOffset = 6 + sig.R.Length;
        for (var offset = 0; offset < q.Signature.Length; offset++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var result = (q with { Signature = q.Signature.FlipBit(offset, bit) }).Verify();
                Assert.False(result.IsValid);
                var inValue = offset >= 6 && !(type == "ecc" && offset is var o && (o == sSizeOffset || o == sSizeOffset + 1));
                if (inValue)
                    AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid", result);
                else
                    Assert.Contains(result.Failure, new[] { QuoteFailure.Malformed, QuoteFailure.KeyMismatch, QuoteFailure.SignatureInvalid });
            }
        }
    }

    [Fact]
    public void Verify_RsaKeyWithTpmEcdsaSignature_KeyMismatch() =>
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm ECDSA does not match an RSA key",
            (quotes.Ecc with { Key = quotes.Rsa.Key }).Verify());

    [Fact]
    public void Verify_EccKeyWithTpmRsassaSignature_KeyMismatch() =>
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm RSASSA does not match an ECC key",
            (quotes.Rsa with { Key = quotes.Ecc.Key }).Verify());

    [Fact]
    public void Verify_AnotherAksKey_SignatureInvalid() =>
        AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid", (quotes.Ecc with { Key = quotes.OtherEccKey }).Verify());

    [Fact]
    public void Verify_SignatureOfTheOtherQuote_SignatureInvalid()
    {
        var q = quotes.Ecc with { Signature = quotes.Certify.Signature };
        AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid", q.Verify());
    }

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_OtherNonce_NonceMismatch(string type)
    {
        var q = quotes.Get(type);
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (q with { Nonce = q.Nonce.FlipBit(31) }).Verify());
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (q with { Nonce = q.Nonce[..31] }).Verify());
    }

    [Fact]
    public void Verify_ReplayedQuoteForTheNextNonce_NonceMismatch()
    {
        // The RSA quote's nonce is fresh for the RSA quote only; replaying the ECC quote against it fails.
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (quotes.Ecc with { Nonce = quotes.Rsa.Nonce }).Verify());
    }

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_WrongPcrValues_PcrDigestMismatch(string type)
    {
        var q = quotes.Get(type);
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", (q with { PcrValues = q.PcrValues.FlipBit(70) }).Verify());
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", (q with { PcrValues = new byte[96] }).Verify());
    }

    [Fact]
    public void Verify_PcrValuesOfWrongLength_PcrSelectionMismatch() =>
        AssertRefused(QuoteFailure.PcrSelectionMismatch,
            "pcr values do not match the quoted selection: 32 bytes of values given, sha256:0,1,15 needs 96",
            (quotes.Ecc with { PcrValues = quotes.Ecc.PcrValues[..32] }).Verify());

    [Fact]
    public void Verify_PreviousClockInfo_Monotonicity()
    {
        var q = quotes.Ecc;
        var clock = TpmAttest.Parse(q.Attest).ClockInfo;
        Assert.True(clock.Safe);
        Assert.Equal("valid", q.Verify(clock).Reason);
        Assert.Equal("valid", q.Verify(clock with { Clock = 0 }).Reason);
        AssertRefused(QuoteFailure.ClockWentBackwards, "clock went backwards", q.Verify(clock with { Clock = clock.Clock + 1 }));
        AssertRefused(QuoteFailure.RestartCountDecreased, "restart count decreased", q.Verify(clock with { RestartCount = clock.RestartCount + 1 }));
        AssertRefused(QuoteFailure.ResetCountDecreased, "reset count decreased", q.Verify(clock with { ResetCount = clock.ResetCount + 1 }));
        if (clock.ResetCount > 0)
            Assert.Equal("valid", q.Verify(clock with { ResetCount = clock.ResetCount - 1, RestartCount = uint.MaxValue, Clock = ulong.MaxValue }).Reason);
    }
}
