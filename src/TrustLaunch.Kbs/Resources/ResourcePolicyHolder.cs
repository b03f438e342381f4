using TrustLaunch.Kbs.Policy;

namespace TrustLaunch.Kbs.Resources;

/// <summary>The newest stored resource policy, parsed once per version (brokers sharing a PostgreSQL store see each
/// other's updates at the next request).</summary>
public sealed class ResourcePolicyHolder(ResourceStore store)
{
    private volatile ResourcePolicy _current = ResourcePolicy.None;

    /// <exception cref="FormatException">The stored policy no longer parses (refused, never taken as allowing).</exception>
    public async Task<ResourcePolicy> CurrentAsync(CancellationToken cancellationToken)
    {
        var stored = await store.GetPolicyAsync(cancellationToken).ConfigureAwait(false);
        if (stored is null)
            return ResourcePolicy.None;
        var current = _current;
        if (current.Version == stored.Version)
            return current;
        var parsed = ResourcePolicy.Parse(stored.Version, stored.Document);
        _current = parsed;
        return parsed;
    }
}
