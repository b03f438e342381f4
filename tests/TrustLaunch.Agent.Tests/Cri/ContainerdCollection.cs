using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>One containerd (and its loopback registry) for every CRI test class, which run one after another.</summary>
[CollectionDefinition(nameof(ContainerdCollection), DisableParallelization = true)]
public sealed class ContainerdCollection : ICollectionFixture<ContainerdFixture>;
