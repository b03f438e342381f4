using System.Globalization;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Verifier.Policies;

/// <summary>Checks a policy document before it is stored; every problem is one sentence naming the field.</summary>
public static class PolicyValidation
{
    private const int MaxNameLength = 64;

    /// <summary>The first problem of <paramref name="policy"/>, or null when it is usable.</summary>
    public static string? FindProblem(PolicyDocument policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (string.IsNullOrEmpty(policy.Name) || policy.Name.Length > MaxNameLength
            || !policy.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            return $"name '{policy.Name}' must be 1 to {MaxNameLength} ASCII letters, digits, '-', '_' or '.'";
        if (policy.TrustedPublishers is null || policy.AllowedImageDigests is null || policy.AllowedPublishers is null
            || policy.AllowedNamespaces is null || policy.ExpectedPcrs is null)
            return "trusted_publishers, allowed_image_digests, allowed_publishers, allowed_namespaces and expected_pcrs must be present";
        if (policy.LaunchPcr is < 0 or > 23 || policy.LaunchPcr is 16 or 23)
            return $"launch_pcr {policy.LaunchPcr} is not usable: 0-23, never 16 (debug) or 23 (application, resettable)";
        foreach (var digest in policy.AllowedImageDigests)
        {
            if (!IsSha256Digest(digest))
                return $"allowed image digest '{digest}' is not sha256:<64 lowercase hex>";
        }
        foreach (var (keyId, pem) in policy.TrustedPublishers)
        {
            try
            {
                using var verifier = PemPayloadVerifier.FromPem(pem, $"publisher '{keyId}'");
                if (verifier.KeyId != keyId)
                    return $"trusted publisher '{keyId}': the key's id is '{verifier.KeyId}'";
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                return $"trusted publisher '{keyId}': {e.Message}";
            }
        }
        if (policy.Exec is { Kind: ExecPolicyKind.List } exec)
        {
            if (exec.Commands.Count == 0)
                return "exec lists no command: say \"deny\" to refuse every exec";
            if (exec.Commands.Any(string.IsNullOrEmpty))
                return "exec lists an empty command";
        }
        foreach (var (pcr, value) in policy.ExpectedPcrs)
        {
            if (pcr is < 0 or > 23)
                return $"expected PCR {pcr} is not a PCR index (0-23)";
            if (pcr == policy.LaunchPcr)
                return $"expected PCR {pcr} is the launch PCR, whose value comes from the log";
            if (value.Length != 64 || !value.All(char.IsAsciiHexDigitLower))
                return $"expected PCR {pcr} value '{value}' is not 64 lowercase hex digits";
        }
        if (policy.GoldenTrust is { } goldenTrust)
        {
            try
            {
                if (GoldenTrustPolicy.Parse(goldenTrust).FindUntrustedSigner(policy.TrustedPublishers.Keys.ToList()) is { } untrusted)
                    return $"golden_trust: {untrusted}";
            }
            catch (FormatException e)
            {
                return $"golden_trust: {e.Message}";
            }
        }
        return null;
    }

    public static void ThrowIfInvalid(PolicyDocument policy)
    {
        if (FindProblem(policy) is { } problem)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"policy: {problem}"), nameof(policy));
    }

    public static bool IsSha256Digest(string digest) =>
        digest.Length == 71 && digest.StartsWith("sha256:", StringComparison.Ordinal)
        && digest.AsSpan(7).IndexOfAnyExcept("0123456789abcdef") < 0;
}
