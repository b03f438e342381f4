using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>What the policy decided for an image: the scope that applied, and the refusal or the signers whose signatures were accepted.</summary>
public sealed record PolicyVerdict(string Scope, string? Refusal, IReadOnlyList<string> Signers)
{
    public bool IsAccepted => Refusal is null;
}

/// <summary>
/// Applies containers-policy.json to an image before its layers are fetched: finds the scope, reads the signatures
/// the requirements need (simple signing from the registries.d lookaside, cosign attachments from the registry) and
/// checks each requirement: a <c>signedBy</c> / <c>sigstoreSigned</c> holds when at least one signature is by a
/// trusted key, names the manifest digest and an identity the requirement accepts. All requirements must hold.
/// </summary>
public sealed class SignaturePolicyCheck(SignaturePolicy policy, RegistriesD registriesD, HttpClient lookasideHttp)
{
    /// <summary>skopeo's words for an image without signatures, kept so refusals read the same in both tools.</summary>
    public const string NoSignature = "A signature was required, but no signature exists";

    public async Task<PolicyVerdict> CheckAsync(RegistryClient client, ImageReference image, Digest manifestDigest, CancellationToken ct)
    {
        var (scope, requirements) = policy.RequirementsFor(image);
        var signers = new List<string>();
        foreach (var requirement in requirements)
        {
            string? refusal;
            switch (requirement)
            {
                case InsecureAcceptAnything:
                    continue;
                case RejectRequirement:
                    refusal = $"reject: running image {image} is rejected by policy";
                    break;
                case SignedByRequirement signedBy:
                    var storage = registriesD.For(image);
                    var pgp = await LookasideStore.ReadAsync(storage.Lookaside, image, manifestDigest, lookasideHttp, ct).ConfigureAwait(false);
                    refusal = Accept("signedBy", pgp, s => OpenPgpSignatures.Verify(s, signedBy.Keyrings), signedBy.Identity, image, manifestDigest, signers);
                    break;
                case SigstoreSignedRequirement sigstore:
                    var cosign = registriesD.For(image).UseSigstoreAttachments
                        ? await CosignSignatures.ReadAsync(client, image, manifestDigest, ct).ConfigureAwait(false)
                        : [];
                    refusal = Accept("sigstoreSigned", cosign, s => CosignSignatures.Verify(s, sigstore.PublicKeysPem), sigstore.Identity, image, manifestDigest, signers);
                    if (refusal is not null && !registriesD.For(image).UseSigstoreAttachments)
                        refusal += " (registries.d does not set use-sigstore-attachments for this repository)";
                    break;
                default:
                    refusal = $"requirement {requirement.GetType().Name} is not supported";
                    break;
            }
            if (refusal is not null)
                return new PolicyVerdict(scope, $"signature policy {policy.Path} ({scope}): {refusal}", signers);
        }
        return new PolicyVerdict(scope, null, signers);
    }

    /// <summary>Null when one signature is accepted (its signer added to <paramref name="signers"/>), else the reason: the one signature's, or all of them.</summary>
    private static string? Accept<T>(string kind, IReadOnlyList<T> signatures, Func<T, VerifiedSignature> verify, SignedIdentity identity, ImageReference image,
        Digest manifestDigest, List<string> signers)
    {
        if (signatures.Count == 0)
            return $"{kind}: {NoSignature}";
        var reasons = new List<string>();
        foreach (var signature in signatures)
        {
            string reason;
            try
            {
                var verified = verify(signature);
                if (verified.Payload.ManifestDigest != manifestDigest)
                    reason = $"signature by {verified.Signer} is for manifest {verified.Payload.ManifestDigest}, not {manifestDigest}";
                else if (IdentityMatch.Refusal(identity, image, verified.Payload.DockerReference) is { } mismatch)
                    reason = $"signature by {verified.Signer}: {mismatch}";
                else
                {
                    signers.Add(verified.Signer);
                    return null;
                }
            }
            catch (FormatException e)
            {
                reason = e.Message;
            }
            reasons.Add(reason);
        }
        return reasons.Count == 1 ? $"{kind}: {reasons[0]}" : $"{kind}: none of the {reasons.Count} signatures was accepted: {string.Join("; ", reasons)}";
    }
}
