using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Verifier.Tests.Fleet;

/// <summary>What the multi-instance tests check of a fleet's results, and how they wait for it.</summary>
internal static class FleetChecks
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>Newest first: each result at least one interval after the one before it, whichever instance made them.</summary>
    public static void AssertAtLeastOneIntervalApart(IReadOnlyList<AttestationResultRecord> newestFirst, TimeSpan interval)
    {
        for (var i = 1; i < newestFirst.Count; i++)
        {
            var gap = newestFirst[i - 1].At - newestFirst[i].At;
            Assert.True(gap >= interval, $"results {newestFirst[i].Id} ({newestFirst[i].InstanceId}) and {newestFirst[i - 1].Id} "
                + $"({newestFirst[i - 1].InstanceId}) of agent {newestFirst[i].AgentId} are only {gap.TotalMilliseconds} ms apart");
        }
    }

    /// <summary>True when every agent's results (newest first) meet <paramref name="condition"/>, else null (keep waiting).</summary>
    public static async Task<bool?> EveryAgentHasAsync(VerifierClient tenant, IEnumerable<string> agents,
        Func<IReadOnlyList<AttestationResultRecord>, bool> condition)
    {
        foreach (var agent in agents)
        {
            if (!condition(await tenant.GetResultsAsync(agent, 1000)))
                return null;
        }
        return true;
    }

}
