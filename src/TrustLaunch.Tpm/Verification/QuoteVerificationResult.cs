using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>Why a quote was refused; <see cref="None"/> when it was accepted.</summary>
public enum QuoteFailure
{
    None,
    Malformed,
    NotAQuote,
    SignatureInvalid,
    KeyMismatch,
    NonceTooShort,
    NonceMismatch,
    Sha1Refused,
    PcrSelectionEmpty,
    PcrSelectionMismatch,
    PcrDigestMismatch,
    ClockNotSafe,
    ResetCountDecreased,
    RestartCountDecreased,
    ClockWentBackwards,
}

/// <summary>
/// The outcome of <see cref="QuoteVerifier.Verify"/>. <see cref="Reason"/> is <c>"valid"</c> for an accepted quote,
/// otherwise a short sentence a CLI can print. <see cref="Attest"/> is set whenever the attestation parsed, even
/// when a later check refused it (its contents are then not trustworthy).
/// </summary>
public sealed record QuoteVerificationResult(QuoteFailure Failure, string Reason, TpmAttest? Attest)
{
    public const string ValidReason = "valid";

    public bool IsValid => Failure == QuoteFailure.None;

    internal static QuoteVerificationResult Valid(TpmAttest attest) => new(QuoteFailure.None, ValidReason, attest);

    internal static QuoteVerificationResult Fail(QuoteFailure failure, string reason, TpmAttest? attest = null) =>
        new(failure, reason, attest);
}
