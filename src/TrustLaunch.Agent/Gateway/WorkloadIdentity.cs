using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// Who calls the workload gateway or a guest-component API: a container the agent launched (its id as the launch log
/// names it, the image reference and manifest digest it runs), known from the socket the connection came in on, never
/// from the request. <see cref="Node"/> stands for the node itself (the root-only guest-component sockets).
/// </summary>
public sealed record WorkloadIdentity(string Container, string Image, string ImageDigest)
{
    public static WorkloadIdentity Node { get; } = new("", "", "");

    public bool IsNode => Container.Length == 0;

    /// <summary>What the handshake with the broker carries for this caller (null: the node itself).</summary>
    public ContainerEvidence? Evidence => IsNode ? null : new ContainerEvidence(Container, ImageDigest);
}

/// <summary>The connection feature the gateway's transport tags each accepted connection with.</summary>
public interface IWorkloadConnectionFeature
{
    WorkloadIdentity Workload { get; }
}

internal sealed record WorkloadConnectionFeature(WorkloadIdentity Workload) : IWorkloadConnectionFeature;
