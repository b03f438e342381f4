using System.Collections.Concurrent;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Policies;

/// <summary>
/// Compiled policies by name and version (a stored version never changes; the creation time tells a re-added name
/// apart), and each name's latest stored version, read again once it is a quarter of the quote interval old, so a
/// policy added, updated or removed takes effect within one interval without a store read per attestation.
/// </summary>
public sealed class PolicyCache(IVerifierStore store, VerifierOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Name, int Version, DateTimeOffset CreatedAt), AttestationPolicy> _compiled = new();
    private readonly ConcurrentDictionary<string, (StoredPolicy? Stored, DateTimeOffset ReadAt)> _latest = new(StringComparer.Ordinal);

    private TimeSpan Freshness => options.QuoteInterval / 4;

    public AttestationPolicy Get(StoredPolicy stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return _compiled.GetOrAdd((stored.Policy.Name, stored.Version, stored.CreatedAt), static (_, s) => new AttestationPolicy(s), stored);
    }

    /// <summary>The latest version of <paramref name="name"/> as read at most a quarter interval ago; null when there is none.</summary>
    public async Task<StoredPolicy?> GetLatestAsync(string name, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_latest.TryGetValue(name, out var cached) && now - cached.ReadAt < Freshness)
            return cached.Stored;
        var stored = await store.GetPolicyAsync(name, null, cancellationToken).ConfigureAwait(false);
        _latest[name] = (stored, now);
        return stored;
    }
}
