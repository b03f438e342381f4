using System.Collections.Concurrent;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Verifier.Policies;

/// <summary>Compiled policies by name and version (a stored version never changes; the creation time tells a re-added name apart).</summary>
public sealed class PolicyCache
{
    private readonly ConcurrentDictionary<(string Name, int Version, DateTimeOffset CreatedAt), AttestationPolicy> _compiled = new();

    public AttestationPolicy Get(StoredPolicy stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return _compiled.GetOrAdd((stored.Policy.Name, stored.Version, stored.CreatedAt), static (_, s) => new AttestationPolicy(s), stored);
    }
}
