using System.Security.Cryptography;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>
/// Verifies a TPM2_Quote in software: signature by the AK over the raw TPMS_ATTEST bytes, the nonce (16 bytes or
/// more), a non-empty PCR selection, the PCR values against the quoted digest, no SHA-1 unless allowed, and the clock's
/// freshness rules. Never throws for bad input: every refusal is a
/// <see cref="QuoteVerificationResult"/> with a reason.
/// </summary>
public static partial class QuoteVerifier
{
    /// <summary>Verifies one quote.</summary>
    /// <param name="akPublicKey">The AK: an <see cref="RSA"/> or <see cref="ECDsa"/> public key.</param>
    /// <param name="attest">Raw TPMS_ATTEST bytes (<c>tpm2_quote -m</c>).</param>
    /// <param name="signature">TPMT_SIGNATURE bytes (<c>tpm2_quote -s</c>).</param>
    /// <param name="pcrValues">PCR values concatenated in the attest's selection order (<c>tpm2_quote -o F -F values</c>).</param>
    /// <param name="expectedNonce">The qualifying data the verifier handed out, at least
    /// <see cref="QuoteVerificationOptions.MinimumNonceBytes"/> bytes.</param>
    /// <param name="previous">Clock info of the last accepted quote from the same TPM, for monotonicity checks.</param>
    /// <param name="options">What the caller relaxes; <see cref="QuoteVerificationOptions.Strict"/> when null.</param>
    public static QuoteVerificationResult Verify(
        AsymmetricAlgorithm akPublicKey,
        ReadOnlySpan<byte> attest,
        ReadOnlySpan<byte> signature,
        ReadOnlySpan<byte> pcrValues,
        ReadOnlySpan<byte> expectedNonce,
        TpmClockInfo? previous = null,
        QuoteVerificationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(akPublicKey);
        if (akPublicKey is not (RSA or ECDsa))
            throw new ArgumentException($"the AK must be an RSA or ECDsa key, not {akPublicKey.GetType().Name}", nameof(akPublicKey));
        options ??= QuoteVerificationOptions.Strict;

        if (expectedNonce.Length < QuoteVerificationOptions.MinimumNonceBytes)
            return QuoteVerificationResult.Fail(QuoteFailure.NonceTooShort,
                $"nonce is {expectedNonce.Length} bytes, at least {QuoteVerificationOptions.MinimumNonceBytes} are required");

        TpmAttest parsed;
        try
        {
            parsed = TpmAttest.Parse(attest);
        }
        catch (TpmFormatException e)
        {
            return QuoteVerificationResult.Fail(QuoteFailure.Malformed, "malformed attestation: " + e.Message);
        }

        TpmSignature sig;
        try
        {
            sig = TpmSignature.Parse(signature);
        }
        catch (TpmFormatException e)
        {
            return QuoteVerificationResult.Fail(QuoteFailure.Malformed, "malformed signature: " + e.Message, parsed);
        }

        if (KeyMismatch(akPublicKey, sig) is { } mismatch)
            return QuoteVerificationResult.Fail(QuoteFailure.KeyMismatch, mismatch, parsed);

        if (sig.Hash == TpmAlgId.Sha1 && !options.AllowSha1)
            return Sha1Refused("the signature hash is sha1", parsed);

        if (!VerifySignature(akPublicKey, sig, attest))
            return QuoteVerificationResult.Fail(QuoteFailure.SignatureInvalid, "signature invalid", parsed);

        if (parsed.Type != TpmSt.AttestQuote)
            return QuoteVerificationResult.Fail(QuoteFailure.NotAQuote, $"not a quote: type 0x{(ushort)parsed.Type:X4}", parsed);

        if (!CryptographicOperations.FixedTimeEquals(parsed.ExtraData, expectedNonce))
            return QuoteVerificationResult.Fail(QuoteFailure.NonceMismatch, "nonce mismatch", parsed);

        if (!parsed.PcrSelections.Any(s => s.Pcrs.Count > 0))
            return QuoteVerificationResult.Fail(QuoteFailure.PcrSelectionEmpty, "the quote selects no PCRs", parsed);

        if (!options.AllowSha1 && parsed.PcrSelections.FirstOrDefault(s => s.Bank == TpmAlgId.Sha1) is { } sha1Bank)
            return Sha1Refused($"the quote selects {sha1Bank}", parsed);

        if (SelectionMismatch(parsed.PcrSelections, pcrValues.Length) is { } detail)
            return QuoteVerificationResult.Fail(QuoteFailure.PcrSelectionMismatch,
                "pcr values do not match the quoted selection: " + detail, parsed);

        if (!options.AllowSha1 && parsed.PcrDigest.Length == TpmHash.DigestSize(TpmAlgId.Sha1))
            return Sha1Refused("the pcr digest is 20 bytes (sha1)", parsed);

        // TPM2_Quote digests the PCR values with the hash of the signing scheme.
        var digest = TpmHash.Hash(sig.Hash, pcrValues);
        if (!CryptographicOperations.FixedTimeEquals(digest, parsed.PcrDigest))
            return QuoteVerificationResult.Fail(QuoteFailure.PcrDigestMismatch, "pcr digest mismatch", parsed);

        // An unsafe clock may have lost time since its last save, but only across a reset or restart, which the
        // counts show: with equal counts the clock must still not go back.
        if (previous is not null && Monotonicity(previous, parsed.ClockInfo) is { } failure)
            return failure with { Attest = parsed };

        if (!parsed.ClockInfo.Safe && !options.AllowUnsafeClock)
            return QuoteVerificationResult.Fail(QuoteFailure.ClockNotSafe, "clock not safe", parsed);

        return QuoteVerificationResult.Valid(parsed);
    }

    private static QuoteVerificationResult Sha1Refused(string what, TpmAttest attest) =>
        QuoteVerificationResult.Fail(QuoteFailure.Sha1Refused, $"{what}: SHA-1 is refused unless explicitly allowed", attest);

    /// <summary>The number of bytes of PCR values a selection stands for, or a reason it cannot be computed.</summary>
    private static string? SelectionMismatch(IReadOnlyList<PcrSelection> selections, int length)
    {
        var expected = 0L;
        foreach (var s in selections)
        {
            if (!TpmHash.IsHash(s.Bank))
                return $"bank 0x{(ushort)s.Bank:X4} is not a supported hash";
            expected += (long)s.Pcrs.Count * TpmHash.DigestSize(s.Bank);
        }
        if (expected == length)
            return null;
        var quoted = selections.Count == 0 ? "an empty selection" : string.Join('+', selections);
        return $"{length} bytes of values given, {quoted} needs {expected}";
    }

    private static QuoteVerificationResult? Monotonicity(TpmClockInfo previous, TpmClockInfo current)
    {
        if (current.ResetCount < previous.ResetCount)
            return QuoteVerificationResult.Fail(QuoteFailure.ResetCountDecreased, "reset count decreased");
        if (current.ResetCount > previous.ResetCount)
            return null;
        if (current.RestartCount < previous.RestartCount)
            return QuoteVerificationResult.Fail(QuoteFailure.RestartCountDecreased, "restart count decreased");
        if (current.RestartCount > previous.RestartCount)
            return null;
        if (current.Clock < previous.Clock)
            return QuoteVerificationResult.Fail(QuoteFailure.ClockWentBackwards, "clock went backwards");
        return null;
    }
}
