using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Containers on this node that another front end of the agent launched (the CRI endpoint), so <c>trustlaunch ps</c>
/// (<c>GET /v1/containers</c>) lists them beside those of <c>trustlaunch run</c>. Register an implementation as a
/// singleton <see cref="INodeContainerSource"/> in the agent's services; every registered source is asked on each
/// listing, and its containers carry <see cref="NodeContainer.Source"/>, <see cref="NodeContainer.Pod"/> (the sandbox
/// id), <see cref="NodeContainer.PodName"/> and <see cref="NodeContainer.Namespace"/>. A source that fails fails the
/// listing: ps never shows a partial node as if it were whole.
/// </summary>
public interface INodeContainerSource
{
    /// <summary>What <see cref="NodeContainer.Source"/> its containers carry, e.g. <see cref="NodeContainer.CriSource"/>.</summary>
    string Source { get; }

    Task<IReadOnlyList<NodeContainer>> ListAsync(CancellationToken cancellationToken);
}
