using System.Collections.Concurrent;
using System.Globalization;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Attestation;

/// <summary>
/// How the verifier stands on a node now, asked at every attestation and every resource request; an answer is kept
/// for at most <see cref="CacheFor"/> (keep it shorter than the verifier's quote interval), so a node the verifier
/// fails loses access within one interval, whatever its token's lifetime. Only Attested nodes whose last affirming
/// appraisal is at most <see cref="MaxAppraisalAge"/> old pass: a verifier that stopped attesting a node (paused,
/// or every instance down) leaves its last state in the store, which must not keep releasing.
/// </summary>
public sealed class NodeStanding(INodeDirectory nodes, TimeProvider time, TimeSpan cacheFor, TimeSpan maxAppraisalAge)
{
    private readonly ConcurrentDictionary<string, (AgentAppraisal Appraisal, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public TimeSpan CacheFor { get; } = cacheFor >= TimeSpan.Zero ? cacheFor : throw new ArgumentOutOfRangeException(nameof(cacheFor));

    public TimeSpan MaxAppraisalAge { get; } = maxAppraisalAge > TimeSpan.Zero ? maxAppraisalAge : throw new ArgumentOutOfRangeException(nameof(maxAppraisalAge));

    /// <summary>The facts the resource policy decides on, for an agent the verifier holds Attested.</summary>
    /// <exception cref="KbsError">Not Attested (401 AttestationFailed), or the verifier could not be asked (503).</exception>
    public async Task<NodeFacts> RequireAttestedAsync(string agentId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        AgentAppraisal? appraisal;
        if (_cache.TryGetValue(agentId, out var cached) && now < cached.Until)
        {
            appraisal = cached.Appraisal;
        }
        else
        {
            appraisal = await AskAsync("verifier", () => nodes.AppraisalAsync(agentId, cancellationToken)).ConfigureAwait(false);
            if (appraisal is null)
                _cache.TryRemove(agentId, out _);
            else if (CacheFor > TimeSpan.Zero)
                _cache[agentId] = (appraisal, now + CacheFor);
        }
        if (appraisal is null)
            throw KbsError.AttestationFailed($"agent '{agentId}' is not under attestation by the verifier");
        if (appraisal.State != AgentStates.Attested)
            throw KbsError.AttestationFailed($"agent '{agentId}' is {appraisal.State} at the verifier, not {AgentStates.Attested}");
        if (appraisal.LastSuccess is not { } last || now - last > MaxAppraisalAge)
            throw KbsError.AttestationFailed(string.Create(CultureInfo.InvariantCulture,
                $"agent '{agentId}' was last appraised affirming {(appraisal.LastSuccess is { } at ? $"at {at:yyyy-MM-ddTHH:mm:ssZ}" : "never")}, more than {MaxAppraisalAge.TotalSeconds} s ago: the verifier is not attesting it now"));
        return new NodeFacts(agentId, appraisal.Policy, new HashSet<string>(appraisal.VerifiedImages, StringComparer.Ordinal), appraisal.PolicyNamespaces)
        {
            Containers = appraisal.Containers ?? new Dictionary<string, string>(),
        };
    }

    /// <summary>A registrar or verifier that cannot answer refuses the request (503), never lets it pass.</summary>
    internal static async Task<T> AskAsync<T>(string service, Func<Task<T>> ask)
    {
        try
        {
            return await ask().ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or ServiceProblemException or TaskCanceledException or System.Security.Authentication.AuthenticationException)
        {
            throw KbsError.Unavailable($"the {service} could not be asked: {e.Message}");
        }
    }
}
