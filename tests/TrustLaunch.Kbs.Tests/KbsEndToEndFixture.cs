using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Nodes whose agents attest to the broker themselves (<c>serve agent --kbs</c>). Node 0 reaches the broker through
/// <see cref="Proxy"/> (pass-through until a test tampers) and stays Attested; tests that fail a node use node 1,
/// which reaches the broker directly. Every agent trusts sealed secrets signed by <see cref="SecretSigningKey"/> under kid
/// <see cref="SecretKid"/> (<c>--secret-trust</c>); the secret tests fail node 2.
/// </summary>
public sealed class KbsEndToEndFixture : KbsBrokerStack
{
    public const string Collection = "kbs-end-to-end";

    public const string SecretKid = "e2e-publisher";

    private readonly DirectoryInfo _secrets = System.IO.Directory.CreateTempSubdirectory("tl-e2e-secrets-");
    private readonly SemaphoreSlim _publisherGate = new(1, 1);
    private int _proxyPort;
    private (string Private, string Public)? _publisher;

    /// <summary>The P-256 PEM private key <c>trustlaunch secret seal --key</c> signs the tests' sealed secrets with.</summary>
    public string SecretSigningKey => Path.Combine(_secrets.FullName, "signer.key");

    private string SecretTrust => Path.Combine(_secrets.FullName, "trust");

    public EndToEndTamperingProxy Proxy { get; private set; } = null!;

    public override string ResourcePolicyJson =>
        $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]}]}""";

    /// <summary>A sealed envelope of <paramref name="value"/> under a new KEK stored at <paramref name="kekPath"/>, signed by <see cref="SecretSigningKey"/>.</summary>
    public Task<string> SealEnvelopeAsync(string kekPath, byte[] value) => SealEnvelopeAsync(kekPath, value, SecretSigningKey, SecretKid);


    /// <summary>
    /// A golden-value publisher key pair (PEM files) that the verifier's policy trusts, for tests that launch containers
    /// on the nodes: made and added to the policy (a new version, trusting it beside nothing else) on first use.
    /// </summary>
    public async Task<(string Private, string Public)> TrustedPublisherAsync()
    {
        await _publisherGate.WaitAsync();
        try
        {
            if (_publisher is { } made)
                return made;
            var priv = Path.Combine(_secrets.FullName, "publisher.pem");
            var pub = Path.Combine(_secrets.FullName, "publisher.pub.pem");
            using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
            {
                await File.WriteAllTextAsync(priv, key.ExportPkcs8PrivateKeyPem());
                await File.WriteAllTextAsync(pub, key.ExportSubjectPublicKeyInfoPem());
            }
            string keyId;
            using (var verifier = TrustLaunch.Oci.Signing.PemPayloadVerifier.FromFile(pub))
                keyId = verifier.KeyId;
            var current = (await Tenant.GetPolicyAsync(VerifierPolicy))!.Policy;
            await Tenant.AddPolicyAsync(current with
            {
                TrustedPublishers = new Dictionary<string, string>(current.TrustedPublishers) { [keyId] = await File.ReadAllTextAsync(pub) },
                AllowedPublishers = [.. current.AllowedPublishers, keyId],
            });
            _publisher = (priv, pub);
            return (priv, pub);
        }
        finally
        {
            _publisherGate.Release();
        }
    }

    // The agents reach neither the proxy nor the broker until a resource is asked for: both start after the fleet.
    protected override VerifierFleet CreateFleet()
    {
        using (var signer = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(SecretSigningKey, signer.ExportPkcs8PrivateKeyPem());
            System.IO.Directory.CreateDirectory(SecretTrust);
            File.WriteAllText(Path.Combine(SecretTrust, SecretKid + ".pem"), signer.ExportSubjectPublicKeyInfoPem());
        }
        _proxyPort = FreePorts.FindPair();
        while (Math.Abs(_proxyPort - Port) < 2)
            _proxyPort = FreePorts.FindPair();
        return new VerifierFleet(3, new AgentDeployment { AgentArguments = ["--kbs", $"https://127.0.0.1:{_proxyPort}", "--secret-trust", SecretTrust] })
        {
            NodeArguments = ["--kbs", BrokerUrl, "--secret-trust", SecretTrust],
        };
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
