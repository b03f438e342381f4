using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Nodes whose agents attest to the broker themselves (<c>serve agent --kbs</c>). Node 0 reaches the broker through
/// <see cref="Proxy"/> (pass-through until a test tampers) and stays Attested; tests that fail a node use node 1,
/// which reaches the broker directly.
/// </summary>
public sealed class KbsEndToEndFixture : KbsBrokerStack
{
    public const string Collection = "kbs-end-to-end";

    private int _proxyPort;

    public EndToEndTamperingProxy Proxy { get; private set; } = null!;

    public override string ResourcePolicyJson =>
        $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]}]}""";

    // The agents reach neither the proxy nor the broker until a resource is asked for: both start after the fleet.
    protected override VerifierFleet CreateFleet()
    {
        _proxyPort = FreePorts.FindPair();
        while (Math.Abs(_proxyPort - Port) < 2)
            _proxyPort = FreePorts.FindPair();
        return new VerifierFleet(2, new AgentDeployment { AgentArguments = ["--kbs", $"https://127.0.0.1:{_proxyPort}"] })
        {
            NodeArguments = ["--kbs", BrokerUrl],
        };
    }

    protected override async Task FleetReadyAsync() => Proxy = await EndToEndTamperingProxy.StartAsync(TlsDirectory, _proxyPort, Port);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Proxy is not null)
            await Proxy.DisposeAsync();
    }
}

[CollectionDefinition(KbsEndToEndFixture.Collection)]
public sealed class KbsEndToEndCollection : ICollectionFixture<KbsEndToEndFixture>;
