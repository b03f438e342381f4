using System.Security.Cryptography;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Verifier.Tests;

/// <summary>Policies for tests: one publisher key made per process, the launch PCR of <c>QuotingNode</c>.</summary>
internal static class TestPolicies
{
    public static ECDsa PublisherKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static string PublisherPem { get; } = PublisherKey.ExportSubjectPublicKeyInfoPem();
    public static string PublisherKeyId { get; } = Jwk.ThumbprintOf(PublisherKey);

    public static PolicyDocument Document(
        string name = "prod",
        IReadOnlyList<string>? digests = null,
        IReadOnlyList<string>? namespaces = null,
        IReadOnlyDictionary<int, string>? expectedPcrs = null,
        bool allowPublisher = true,
        ExecPolicy? exec = null,
        bool allowHostNetwork = false,
        bool allowUnconfinedSeccomp = false) =>
        new(name,
            new Dictionary<string, string> { [PublisherKeyId] = PublisherPem },
            digests ?? [],
            allowPublisher ? [PublisherKeyId] : [],
            namespaces ?? [],
            11,
            expectedPcrs ?? new Dictionary<int, string>(),
            exec,
            allowHostNetwork,
            allowUnconfinedSeccomp);

    public static AttestationPolicy Compile(PolicyDocument document, int version = 1) =>
        new(new StoredPolicy(document, version, DateTimeOffset.UnixEpoch));
}
