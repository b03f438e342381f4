using System.Collections.Concurrent;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Verifier.Policies;

/// <summary>
/// A stored policy version prepared for appraisal: lookups as sets, expected PCR values as bytes, publisher keys
/// parsed. <see cref="Id"/> (<c>NAME:vN</c>) is the EAR appraisal-policy-id; <see cref="Display"/> is how reasons
/// name it (<c>policy 'prod' v2</c>).
/// </summary>
public sealed class AttestationPolicy
{
    /// <summary>Golden values whose signatures this policy version verified, kept at most (then all are let go).</summary>
    public const int MaxVerifiedGoldenValues = 4096;

    // By the SHA-256 of the JWS: the same bytes, whose signatures by these keys were checked once.
    private readonly ConcurrentDictionary<string, GoldenVerification> _verifiedGoldenValues = new(StringComparer.Ordinal);
    private readonly HashSet<string> _allowedDigests;
    private readonly HashSet<string> _trustedAllowedPublishers;
    private readonly HashSet<string> _namespaces;
    private readonly HashSet<string> _execCommands;

    public AttestationPolicy(StoredPolicy stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var doc = stored.Policy;
        PolicyValidation.ThrowIfInvalid(doc);
        Name = doc.Name;
        Version = stored.Version;
        LaunchPcr = doc.LaunchPcr;
        _allowedDigests = new HashSet<string>(doc.AllowedImageDigests, StringComparer.Ordinal);
        // A publisher counts only when the policy also holds its key: allowing an unknown key id allows nothing.
        _trustedAllowedPublishers = new HashSet<string>(
            doc.AllowedPublishers.Where(doc.TrustedPublishers.ContainsKey), StringComparer.Ordinal);
        _namespaces = new HashSet<string>(doc.AllowedNamespaces, StringComparer.Ordinal);
        ExpectedPcrs = doc.ExpectedPcrs.ToDictionary(p => p.Key, p => Convert.FromHexString(p.Value));
        TrustedKeys = new TrustedKeys(doc.TrustedPublishers.Select(p => PemPayloadVerifier.FromPem(p.Value, $"publisher '{p.Key}'")));
        Exec = doc.Exec ?? ExecPolicy.Allow;
        _execCommands = new HashSet<string>(Exec.Commands, StringComparer.Ordinal);
        AllowsHostNetwork = doc.AllowHostNetwork;
        AllowsUnconfinedSeccomp = doc.AllowUnconfinedSeccomp;
        GoldenTrust = doc.GoldenTrust is { } goldenTrust ? GoldenTrustPolicy.Parse(goldenTrust) : GoldenTrustPolicy.Default;
    }

    public string Name { get; }
    public int Version { get; }
    public int LaunchPcr { get; }
    public IReadOnlyDictionary<int, byte[]> ExpectedPcrs { get; }

    /// <summary>The policy's publisher keys, for golden-value checks (remote-mode launches and every <c>ImageVerified</c>).</summary>
    public TrustedKeys TrustedKeys { get; }

    /// <summary>How <c>ContainerExec</c> is judged (allow when the document does not say).</summary>
    public ExecPolicy Exec { get; }

    /// <summary>Where golden values may come from and which are revoked (the launcher's trust-policy rules).</summary>
    public GoldenTrustPolicy GoldenTrust { get; }

    public bool AllowsHostNetwork { get; }
    public bool AllowsUnconfinedSeccomp { get; }

    public string Id => $"{Name}:v{Version}";
    public string Display => $"policy '{Name}' v{Version}";

    /// <summary>
    /// <see cref="GoldenValueVerifier.Verify"/> under this policy's keys, its signature checks made once per golden value
    /// (<paramref name="goldenDigest"/>, the SHA-256 of <paramref name="jws"/>, which the caller has checked): the nodes
    /// of a fleet run the same images, so every later <c>ImageVerified</c> naming it only has its image digest and
    /// validity window judged again (<see cref="GoldenValueVerifier.Recheck"/>). Refusals are never kept.
    /// </summary>
    public GoldenVerification VerifyGoldenValue(string goldenDigest, string jws, Digest manifestDigest, DateTimeOffset at)
    {
        if (_verifiedGoldenValues.TryGetValue(goldenDigest, out var verified))
            return GoldenValueVerifier.Recheck(verified, manifestDigest, at);
        var verification = GoldenValueVerifier.Verify(jws, TrustedKeys, manifestDigest, at);
        if (verification.IsVerified)
        {
            if (_verifiedGoldenValues.Count >= MaxVerifiedGoldenValues)
                _verifiedGoldenValues.Clear();
            _verifiedGoldenValues[goldenDigest] = verification;
        }
        return verification;
    }

    public bool AllowsDigest(string digest) => _allowedDigests.Contains(digest);

    public bool AllowsPublisher(string keyId) => _trustedAllowedPublishers.Contains(keyId);

    /// <summary>Whether a command whose argv[0] is <paramref name="command"/> may be executed in a container.</summary>
    public bool AllowsExec(string command) => Exec.Kind switch
    {
        ExecPolicyKind.Allow => true,
        ExecPolicyKind.List => _execCommands.Contains(command),
        _ => false,
    };

    /// <summary>An empty list allows every namespace; otherwise the namespace must be listed (the empty namespace of a
    /// launch outside Kubernetes too).</summary>
    public bool AllowsNamespace(string ns) => _namespaces.Count == 0 || _namespaces.Contains(ns);
}
