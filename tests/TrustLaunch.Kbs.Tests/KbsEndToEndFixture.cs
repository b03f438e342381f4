using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Nodes whose agents attest to the broker themselves (<c>serve agent --kbs</c>). Node 0 reaches the broker through
/// <see cref="Proxy"/> (pass-through until a test tampers) and stays Attested; tests that fail a node use node 1,
/// which reaches the broker directly. Every agent trusts sealed secrets signed by <see cref="SecretSigningKey"/> under kid
/// <see cref="SecretKid"/> (<c>--secret-trust</c>); the secret tests fail node 2, the provider-encrypted launch tests node 3.
/// The verifier policy trusts <see cref="PublisherKey"/>'s golden values, so launches keep a node Attested.
/// </summary>
public sealed class KbsEndToEndFixture : KbsBrokerStack
{
    public const string Collection = "kbs-end-to-end";

    public const string SecretKid = "e2e-publisher";

    private readonly DirectoryInfo _secrets = System.IO.Directory.CreateTempSubdirectory("tl-e2e-secrets-");
    private int _proxyPort;

    /// <summary>The P-256 PEM private key <c>golden publish --key</c> signs the launch tests' golden values with; the verifier
    /// policy trusts and allows it, so launches keep a node Attested.</summary>
    public string PublisherKey => Path.Combine(_secrets.FullName, "publisher.key");

    /// <summary>The public key of <see cref="PublisherKey"/>, for <c>run --trust</c>.</summary>
    public string PublisherPublicKey => Path.Combine(_secrets.FullName, "publisher.pub.pem");

    /// <summary>The P-256 PEM private key <c>trustlaunch secret seal --key</c> signs the tests' sealed secrets with.</summary>
    public string SecretSigningKey => Path.Combine(_secrets.FullName, "signer.key");

    private string SecretTrust => Path.Combine(_secrets.FullName, "trust");

    public EndToEndTamperingProxy Proxy { get; private set; } = null!;

    public override string ResourcePolicyJson =>
        $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]}]}""";

    /// <summary>A sealed envelope of <paramref name="value"/> under a new KEK stored at <paramref name="kekPath"/>, signed by <see cref="SecretSigningKey"/>.</summary>
    public Task<string> SealEnvelopeAsync(string kekPath, byte[] value) => SealEnvelopeAsync(kekPath, value, SecretSigningKey, SecretKid);

    // The agents reach neither the proxy nor the broker until a resource is asked for: both start after the fleet.
    protected override VerifierFleet CreateFleet()
    {
        System.IO.Directory.CreateDirectory(SecretTrust);
        WriteKeyPair(SecretSigningKey, Path.Combine(SecretTrust, SecretKid + ".pem"));
        WriteKeyPair(PublisherKey, PublisherPublicKey);
        _proxyPort = FreePorts.FindPair();
        while (Math.Abs(_proxyPort - Port) < 2)
            _proxyPort = FreePorts.FindPair();
        return new VerifierFleet(4, new AgentDeployment { AgentArguments = ["--kbs", $"https://127.0.0.1:{_proxyPort}", "--secret-trust", SecretTrust] })
        {
            NodeArguments = ["--kbs", BrokerUrl, "--secret-trust", SecretTrust],
        };
    }

    protected override PolicyDocument VerifierPolicyDocument()
    {
        var pem = File.ReadAllText(PublisherPublicKey);
        string keyId;
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            key.ImportFromPem(pem);
            keyId = TrustLaunch.Jose.Jwk.ThumbprintOf(key);
        }
        return base.VerifierPolicyDocument() with { TrustedPublishers = new Dictionary<string, string> { [keyId] = pem }, AllowedPublishers = [keyId] };
    }

    protected override async Task FleetReadyAsync() => Proxy = await EndToEndTamperingProxy.StartAsync(TlsDirectory, _proxyPort, Port);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        _secrets.Delete(recursive: true);
    }
}

[CollectionDefinition(KbsEndToEndFixture.Collection)]
public sealed class KbsEndToEndCollection : ICollectionFixture<KbsEndToEndFixture>;
