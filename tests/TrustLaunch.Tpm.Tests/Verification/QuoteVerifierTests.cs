using System.Security.Cryptography;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>The checks after the signature, on TPMS_ATTEST bytes built and signed in software.</summary>
public sealed class QuoteVerifierTests : IDisposable
{
    private readonly ECDsa _ecc = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RSA _rsa = RSA.Create(2048);
    private static readonly byte[] Nonce16 = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];

    public void Dispose()
    {
        _ecc.Dispose();
        _rsa.Dispose();
    }

    private static void AssertRefused(QuoteFailure failure, string reason, QuoteVerificationResult result)
    {
        Assert.Equal(reason, result.Reason);
        Assert.Equal(failure, result.Failure);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Verify_SoftwareEcdsaQuote_IsValid()
    {
        var result = SoftwareSigner.Quote(_ecc).Verify();
        Assert.True(result.IsValid);
        Assert.Equal("valid", result.Reason);
        Assert.Equal(QuoteFailure.None, result.Failure);
        Assert.Equal(1000UL, result.Attest!.ClockInfo.Clock);
    }

    [Fact]
    public void Verify_SoftwareRsassaQuote_IsValid() => Assert.Equal("valid", SoftwareSigner.Quote(_rsa).Verify().Reason);

    [Theory]
    [InlineData(TpmAlgId.Sha256)]
    [InlineData(TpmAlgId.Sha384)]
    public void Verify_RsapssWithDigestSizedSalt_IsValid(TpmAlgId hash)
    {
        var builder = new AttestBuilder();
        var attest = builder.Build(hash);
        var signature = SoftwareSigner.SignRsa(_rsa, attest, TpmAlgId.Rsapss, hash);
        Assert.Equal("valid", QuoteVerifier.Verify(_rsa, attest, signature, builder.PcrValues(), builder.ExtraData).Reason);
    }

    [Fact]
    public void Verify_RsapssWithMaximumSalt_IsValid()
    {
        var builder = new AttestBuilder();
        var attest = builder.Build();
        var p = _rsa.ExportParameters(true);
        var signer = new Org.BouncyCastle.Crypto.Signers.PssSigner(new Org.BouncyCastle.Crypto.Engines.RsaBlindedEngine(),
            new Org.BouncyCastle.Crypto.Digests.Sha256Digest(), 256 - 32 - 2);
        signer.Init(true, new Org.BouncyCastle.Crypto.Parameters.RsaPrivateCrtKeyParameters(
            Big(p.Modulus!), Big(p.Exponent!), Big(p.D!), Big(p.P!), Big(p.Q!), Big(p.DP!), Big(p.DQ!), Big(p.InverseQ!)));
        signer.BlockUpdate(attest);
        var signature = TpmSignature.Rsa(TpmAlgId.Rsapss, TpmAlgId.Sha256, signer.GenerateSignature()).ToBytes();
        Assert.Equal("valid", QuoteVerifier.Verify(_rsa, attest, signature, builder.PcrValues(), builder.ExtraData).Reason);

        static Org.BouncyCastle.Math.BigInteger Big(byte[] b) => new(1, b);
    }

    [Fact]
    public void Verify_EcdsaP384WithSha384_IsValid()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var builder = new AttestBuilder();
        var attest = builder.Build(TpmAlgId.Sha384);
        var signature = SoftwareSigner.SignEcdsa(key, attest, TpmAlgId.Sha384);
        Assert.Equal("valid", QuoteVerifier.Verify(key, attest, signature, builder.PcrValues(), builder.ExtraData).Reason);
    }

    [Fact]
    public void Verify_EcdsaRAndSShorterThanTheField_IsValid()
    {
        // About one signature in 128 has r or s starting with a zero byte; the TPM sends such values unpadded.
        var builder = new AttestBuilder();
        var attest = builder.Build();
        for (var attempt = 0; attempt < 5000; attempt++)
        {
            var rs = _ecc.SignHash(SHA256.HashData(attest), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            if (rs[0] != 0 && rs[32] != 0)
                continue;
            var r = rs[..32].AsSpan().TrimStart((byte)0).ToArray();
            var s = rs[32..].AsSpan().TrimStart((byte)0).ToArray();
            Assert.True(r.Length < 32 || s.Length < 32);
            var signature = TpmSignature.Ecdsa(TpmAlgId.Sha256, r, s).ToBytes();
            Assert.Equal("valid", QuoteVerifier.Verify(_ecc, attest, signature, builder.PcrValues(), builder.ExtraData).Reason);
            return;
        }
        Assert.Fail("no signature with a short r or s in 5000 attempts");
    }

    [Fact]
    public void Verify_EcdsaRWithLeadingZeroPadding_IsValid()
    {
        var builder = new AttestBuilder();
        var attest = builder.Build();
        var rs = _ecc.SignHash(SHA256.HashData(attest), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var signature = TpmSignature.Ecdsa(TpmAlgId.Sha256, [0, .. rs[..32]], rs[32..]).ToBytes();
        Assert.Equal("valid", QuoteVerifier.Verify(_ecc, attest, signature, builder.PcrValues(), builder.ExtraData).Reason);
    }

    [Fact]
    public void Verify_EcdsaRLongerThanTheField_SignatureInvalid()
    {
        var builder = new AttestBuilder();
        var attest = builder.Build();
        var rs = _ecc.SignHash(SHA256.HashData(attest), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var signature = TpmSignature.Ecdsa(TpmAlgId.Sha256, [1, .. rs[..32]], rs[32..]).ToBytes();
        AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid",
            QuoteVerifier.Verify(_ecc, attest, signature, builder.PcrValues(), builder.ExtraData));
    }

    [Fact]
    public void Verify_RsaSignatureOfWrongLength_SignatureInvalid()
    {
        var q = SoftwareSigner.Quote(_rsa);
        var sig = TpmSignature.Parse(q.Signature);
        var shorter = TpmSignature.Rsa(TpmAlgId.Rsassa, TpmAlgId.Sha256, sig.Signature[1..]).ToBytes();
        AssertRefused(QuoteFailure.SignatureInvalid, "signature invalid", (q with { Signature = shorter }).Verify());
    }

    [Fact]
    public void Verify_RsaKeyWithEcdsaSignature_KeyMismatch()
    {
        var q = SoftwareSigner.Quote(_ecc) with { Key = _rsa };
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm ECDSA does not match an RSA key", q.Verify());
    }

    [Fact]
    public void Verify_EccKeyWithRsassaSignature_KeyMismatch()
    {
        var q = SoftwareSigner.Quote(_rsa) with { Key = _ecc };
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm RSASSA does not match an ECC key", q.Verify());
    }

    [Fact]
    public void Verify_NullSignature_KeyMismatch()
    {
        var q = SoftwareSigner.Quote(_ecc) with { Signature = [0x00, 0x10] };
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm NULL does not match an ECC key", q.Verify());
    }

    [Fact]
    public void Verify_HmacSignature_KeyMismatch()
    {
        var hmac = new TpmSignature(TpmAlgId.Hmac, TpmAlgId.Sha256, new byte[32], [], []).ToBytes();
        var q = SoftwareSigner.Quote(_rsa) with { Signature = hmac };
        AssertRefused(QuoteFailure.KeyMismatch, "signature algorithm HMAC does not match an RSA key", q.Verify());
    }

    [Fact]
    public void Verify_SignedCertifyAttestation_NotAQuote()
    {
        var w = new TrustLaunch.Tpm.Codec.TpmWriter();
        w.WriteUInt32(TpmAttest.Magic).WriteUInt16((ushort)TpmSt.AttestCertify).WriteSized([0, 0x0B, .. new byte[32]])
            .WriteSized(Nonce16).WriteUInt64(5).WriteUInt32(1).WriteUInt32(0).WriteByte(1).WriteUInt64(7)
            .WriteSized([0, 0x0B, .. new byte[32]]).WriteSized([0, 0x0B, .. new byte[32]]);
        var attest = w.ToArray();
        var result = QuoteVerifier.Verify(_ecc, attest, SoftwareSigner.SignEcdsa(_ecc, attest), [], Nonce16);
        AssertRefused(QuoteFailure.NotAQuote, "not a quote: type 0x8017", result);
        Assert.Equal(TpmSt.AttestCertify, result.Attest!.Type);
    }

    [Fact]
    public void Verify_OtherNonce_NonceMismatch()
    {
        var q = SoftwareSigner.Quote(_ecc);
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (q with { Nonce = [.. q.Nonce[..^1], 0xFF] }).Verify());
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (q with { Nonce = [.. q.Nonce, 17] }).Verify());
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", (q with { Nonce = [.. q.Nonce[1..], 0] }).Verify());
    }

    [Fact]
    public void Verify_PcrValuesTooShort_PcrSelectionMismatch()
    {
        var q = SoftwareSigner.Quote(_ecc);
        AssertRefused(QuoteFailure.PcrSelectionMismatch,
            "pcr values do not match the quoted selection: 64 bytes of values given, sha256:0,1,15 needs 96",
            (q with { PcrValues = q.PcrValues[..64] }).Verify());
    }

    [Fact]
    public void Verify_PcrValuesTooLong_PcrSelectionMismatch()
    {
        var q = SoftwareSigner.Quote(_ecc);
        AssertRefused(QuoteFailure.PcrSelectionMismatch,
            "pcr values do not match the quoted selection: 97 bytes of values given, sha256:0,1,15 needs 96",
            (q with { PcrValues = [.. q.PcrValues, 0] }).Verify());
    }

    [Fact]
    public void Verify_UnsupportedBankInSelection_PcrSelectionMismatch()
    {
        var builder = new AttestBuilder { Selection = [new PcrSelection((TpmAlgId)0x0012, [0])] };
        AssertRefused(QuoteFailure.PcrSelectionMismatch,
            "pcr values do not match the quoted selection: bank 0x0012 is not a supported hash",
            SoftwareSigner.Quote(_ecc, builder).Verify());
    }

    [Fact]
    public void Verify_TwoBanks_DigestCoversBothInOrder()
    {
        var builder = new AttestBuilder { Selection = PcrSelection.ParseList("sha1:0,7+sha256:3") };
        var q = SoftwareSigner.Quote(_ecc, builder);
        Assert.Equal(20 + 20 + 32, q.PcrValues.Length);
        var sha1Allowed = new QuoteVerificationOptions { AllowSha1 = true };
        Assert.Equal("valid", q.Verify(options: sha1Allowed).Reason);
        var swapped = q with { PcrValues = [.. q.PcrValues[20..40], .. q.PcrValues[..20], .. q.PcrValues[40..]] };
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", swapped.Verify(options: sha1Allowed));
    }

    [Fact]
    public void Verify_WrongPcrValue_PcrDigestMismatch()
    {
        var q = SoftwareSigner.Quote(_rsa);
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", (q with { PcrValues = q.PcrValues.FlipBit(95, 7) }).Verify());
    }

    [Fact]
    public void Verify_DigestMadeWithOtherHashThanSignature_PcrDigestMismatch()
    {
        var builder = new AttestBuilder();
        var attest = builder.Build(TpmAlgId.Sha384);
        var result = QuoteVerifier.Verify(_ecc, attest, SoftwareSigner.SignEcdsa(_ecc, attest, TpmAlgId.Sha256),
            builder.PcrValues(), builder.ExtraData);
        AssertRefused(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", result);
    }

    [Fact]
    public void Verify_ClockNotSafe_ClockNotSafe() =>
        AssertRefused(QuoteFailure.ClockNotSafe, "clock not safe", SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 }).Verify());

    // The builder's quote has clock 1000, resetCount 3, restartCount 2.
    [Theory]
    [InlineData(999UL, 3u, 2u)]
    [InlineData(1000UL, 3u, 2u)]
    [InlineData(5000UL, 2u, 9u)]
    [InlineData(5000UL, 3u, 1u)]
    [InlineData(0UL, 0u, 0u)]
    public void Verify_PreviousNotAfterCurrent_IsValid(ulong clock, uint resetCount, uint restartCount) =>
        Assert.Equal("valid", SoftwareSigner.Quote(_ecc).Verify(new TpmClockInfo(clock, resetCount, restartCount, true)).Reason);

    [Theory]
    [InlineData(0UL, 4u, 0u)]
    [InlineData(1000UL, 4u, 2u)]
    [InlineData(9999UL, 100u, 100u)]
    public void Verify_ResetCountLowerThanPrevious_ResetCountDecreased(ulong clock, uint resetCount, uint restartCount) =>
        AssertRefused(QuoteFailure.ResetCountDecreased, "reset count decreased",
            SoftwareSigner.Quote(_ecc).Verify(new TpmClockInfo(clock, resetCount, restartCount, true)));

    [Theory]
    [InlineData(0UL)]
    [InlineData(1000UL)]
    [InlineData(2000UL)]
    public void Verify_RestartCountLowerWithSameResetCount_RestartCountDecreased(ulong clock) =>
        AssertRefused(QuoteFailure.RestartCountDecreased, "restart count decreased",
            SoftwareSigner.Quote(_ecc).Verify(new TpmClockInfo(clock, 3, 3, true)));

    [Fact]
    public void Verify_ClockLowerWithSameCounts_ClockWentBackwards() =>
        AssertRefused(QuoteFailure.ClockWentBackwards, "clock went backwards",
            SoftwareSigner.Quote(_ecc).Verify(new TpmClockInfo(1001, 3, 2, true)));

    // Changed with issue 14: monotonicity is checked before safe, so an unsafe clock cannot hide counts going back.
    [Fact]
    public void Verify_ClockNotSafe_MonotonicityCheckedFirst() =>
        AssertRefused(QuoteFailure.ResetCountDecreased, "reset count decreased",
            SoftwareSigner.Quote(_ecc, new AttestBuilder { Safe = 0 }).Verify(new TpmClockInfo(9999, 9, 9, true)));

    [Fact]
    public void Verify_NonceCheckedBeforePcrs()
    {
        var q = SoftwareSigner.Quote(_ecc) with { Nonce = [.. Enumerable.Repeat((byte)9, 16)], PcrValues = [] };
        AssertRefused(QuoteFailure.NonceMismatch, "nonce mismatch", q.Verify());
    }

    [Fact]
    public void Verify_NullKey_Throws()
    {
        var q = SoftwareSigner.Quote(_ecc);
        Assert.Throws<ArgumentNullException>(() => QuoteVerifier.Verify(null!, q.Attest, q.Signature, q.PcrValues, q.Nonce));
    }

    [Fact]
    public void Verify_DsaKey_Throws()
    {
        var q = SoftwareSigner.Quote(_ecc);
        using var dsa = DSA.Create();
        Assert.Throws<ArgumentException>(() => QuoteVerifier.Verify(dsa, q.Attest, q.Signature, q.PcrValues, q.Nonce));
    }
}
