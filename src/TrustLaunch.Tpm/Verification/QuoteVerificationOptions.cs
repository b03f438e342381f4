namespace TrustLaunch.Tpm.Verification;

/// <summary>What a caller of <see cref="QuoteVerifier.Verify"/> may relax. Everything is strict by default.</summary>
public sealed record QuoteVerificationOptions
{
    /// <summary>The shortest nonce a quote may carry: shorter ones can be guessed or replayed.</summary>
    public const int MinimumNonceBytes = 16;

    public static QuoteVerificationOptions Strict { get; } = new();

    /// <summary>Accept SHA-1 as the signature hash, as a PCR bank and as the pcrDigest (old TPMs with a SHA-1 bank only).</summary>
    public bool AllowSha1 { get; init; }

    /// <summary>Accept a quote whose clock is not safe (<c>safe</c> = 0, after an unorderly shutdown); the clock's
    /// monotonicity against the previous quote is checked all the same.</summary>
    public bool AllowUnsafeClock { get; init; }
}
