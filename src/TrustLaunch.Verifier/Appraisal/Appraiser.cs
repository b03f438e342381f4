using System.Security.Cryptography;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Verification;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Appraisal;

/// <summary>
/// What one appraisal looks at: who, the registered AK, the nonce handed out, the policy, the last state, and when the
/// evidence arrived (the time of its new records, which the log does not record, for golden-value validity).
/// </summary>
public sealed record AppraisalInput(
    string AgentId,
    AsymmetricAlgorithm AkPublicKey,
    byte[] Nonce,
    AttestationPolicy Policy,
    AppraisalState Previous,
    QuoteEvidence Evidence,
    DateTimeOffset ReceivedAt);

/// <summary>
/// Appraises one piece of evidence, pure and without I/O: the quote (AK signature, nonce, PCR digest over the returned
/// values, freshness), then the new log records replayed onto the running launch-PCR value (a TPM reset starts over
/// from zeros and record 0), then each new event against the policy, then the expected values of other PCRs.
/// </summary>
public static partial class Appraiser
{
    public const string Sha256Bank = "sha256";

    /// <summary>After an unorderly shutdown a TPM reports safe = 0 until its clock passes the last saved value; the
    /// nonce already proves freshness, so such a quote is accepted, its clock still checked against the last one.
    /// SHA-1 stays refused.</summary>
    public static QuoteVerificationOptions QuoteOptions { get; } = new() { AllowUnsafeClock = true };

    /// <summary>The sha256 PCRs a policy needs quoted: the launch PCR and every PCR with an expected value, ascending.</summary>
    public static IReadOnlyList<int> SelectionFor(AttestationPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return [.. policy.ExpectedPcrs.Keys.Append(policy.LaunchPcr).Distinct().Order()];
    }

    public static AppraisalOutcome Appraise(AppraisalInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var evidence = input.Evidence;
        var policy = input.Policy;
        if (evidence.AgentId != input.AgentId)
            return AppraisalOutcome.Failed(AppraisalFailure.Evidence, $"evidence is for agent '{evidence.AgentId}', expected '{input.AgentId}'");
        if (evidence.LaunchPcr != policy.LaunchPcr)
            return AppraisalOutcome.Failed(AppraisalFailure.Evidence,
                $"agent measures launches into PCR {evidence.LaunchPcr}, {policy.Display} expects PCR {policy.LaunchPcr}");

        var selection = SelectionFor(policy);
        if (ReadPcrValues(evidence.Pcrs, selection, out var pcrBytes) is { } pcrProblem)
            return AppraisalOutcome.Failed(AppraisalFailure.Evidence, pcrProblem);

        var quote = QuoteVerifier.Verify(input.AkPublicKey, evidence.Quoted, evidence.Signature, pcrBytes, input.Nonce,
            input.Previous.LastClock, QuoteOptions);
        if (!quote.IsValid)
            return QuoteRefused(quote);
        var attest = quote.Attest!;
        if (attest.PcrSelections is not [{ Bank: TpmAlgId.Sha256 } quoted] || !quoted.Pcrs.SequenceEqual(selection))
            return AppraisalOutcome.Failed(AppraisalFailure.Quote,
                $"quote covers {string.Join('+', attest.PcrSelections)}, expected sha256:{string.Join(',', selection)}");
        var clock = attest.ClockInfo;
        if (evidence.ResetCount != clock.ResetCount || evidence.RestartCount != clock.RestartCount)
            return AppraisalOutcome.Failed(AppraisalFailure.Evidence,
                $"evidence reports reset/restart count {evidence.ResetCount}/{evidence.RestartCount}, the quote says {clock.ResetCount}/{clock.RestartCount}");

        var previous = input.Previous;
        var rebooted = previous.LastClock is { } last && clock.ResetCount > last.ResetCount;
        if (rebooted)
        {
            if (evidence.EventsFrom != 0)
                return AppraisalOutcome.FullLogNeeded();
            previous = previous.Rebooted(clock, evidence.BootCount);
        }

        var quotedLaunchPcr = pcrBytes.AsSpan(IndexOf(selection, policy.LaunchPcr) * AppraisalState.PcrValueSize, AppraisalState.PcrValueSize);
        var replay = Replay(previous, evidence, policy.LaunchPcr, quotedLaunchPcr, out var running);
        if (replay is not null)
            return replay;

        var context = new EventContext(previous.VerifiedImages, previous.CreatedContainers, evidence.GoldenValues, input.ReceivedAt);
        foreach (var record in evidence.Events)
        {
            if (EventPolicy.Evaluate(policy, record.RecNum, record.Content, context) is { } reason)
                return AppraisalOutcome.Failed(AppraisalFailure.Policy, reason, record.RecNum);
        }

        if (ExpectedPcrMismatch(policy, selection, pcrBytes) is { } mismatch)
            return AppraisalOutcome.Failed(AppraisalFailure.PcrMismatch, mismatch);

        var next = new AppraisalState(running, previous.NextRecNum + evidence.Events.Count, clock, evidence.BootCount,
            context.VerifiedImages, context.CreatedContainers);
        return AppraisalOutcome.Attested(next, evidence.Events.Count, rebooted, context.Launches);
    }

    private static AppraisalOutcome QuoteRefused(QuoteVerificationResult quote) => quote.Failure switch
    {
        QuoteFailure.NonceMismatch => AppraisalOutcome.Failed(AppraisalFailure.Nonce, "quote nonce does not match"),
        QuoteFailure.SignatureInvalid or QuoteFailure.KeyMismatch =>
            AppraisalOutcome.Failed(AppraisalFailure.Quote, $"quote is not signed by the registered AK: {quote.Reason}"),
        QuoteFailure.ResetCountDecreased or QuoteFailure.RestartCountDecreased or QuoteFailure.ClockWentBackwards =>
            AppraisalOutcome.Failed(AppraisalFailure.Freshness, $"quote is not fresh: {quote.Reason}"),
        _ => AppraisalOutcome.Failed(AppraisalFailure.Quote, $"quote refused: {quote.Reason}"),
    };

    /// <summary>The quoted values must be exactly the sha256 selection, in order, 32 bytes each.</summary>
    private static string? ReadPcrValues(IReadOnlyList<PcrValue> pcrs, IReadOnlyList<int> selection, out byte[] bytes)
    {
        bytes = new byte[selection.Count * AppraisalState.PcrValueSize];
        if (pcrs.Count != selection.Count)
            return $"evidence holds {pcrs.Count} PCR values, expected sha256:{string.Join(',', selection)}";
        for (var i = 0; i < pcrs.Count; i++)
        {
            var pcr = pcrs[i];
            if (pcr.Bank != Sha256Bank || pcr.Index != selection[i])
                return $"evidence PCR value {i} is {pcr.Bank}:{pcr.Index}, expected sha256:{selection[i]}";
            var target = bytes.AsSpan(i * AppraisalState.PcrValueSize, AppraisalState.PcrValueSize);
            if (pcr.Value.Length != 2 * AppraisalState.PcrValueSize
                || Convert.FromHexString(pcr.Value, target, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != AppraisalState.PcrValueSize)
                return $"evidence PCR sha256:{pcr.Index} value is not 64 hex digits";
        }
        return null;
    }

    private static int IndexOf(IReadOnlyList<int> selection, int pcr)
    {
        for (var i = 0; i < selection.Count; i++)
        {
            if (selection[i] == pcr)
                return i;
        }
        throw new ArgumentException($"PCR {pcr} is not in the selection", nameof(pcr));
    }

    private static string? ExpectedPcrMismatch(AttestationPolicy policy, IReadOnlyList<int> selection, byte[] pcrBytes)
    {
        foreach (var (pcr, expected) in policy.ExpectedPcrs)
        {
            var found = pcrBytes.AsSpan(IndexOf(selection, pcr) * AppraisalState.PcrValueSize, AppraisalState.PcrValueSize);
            if (!CryptographicOperations.FixedTimeEquals(found, expected))
                return $"PCR {pcr} is {Convert.ToHexStringLower(found)}, {policy.Display} expects {Convert.ToHexStringLower(expected)}";
        }
        return null;
    }
}
