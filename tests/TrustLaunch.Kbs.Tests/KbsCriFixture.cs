using System.Text.Json;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Two nodes whose agents attest to the broker (<c>--kbs</c>, <c>--secret-trust</c>) and serve kubelet's CRI
/// (<c>--cri-listen</c>, one socket each) in front of one real containerd (<see cref="Containerd"/>, started first; its
/// snapshots on a tmpfs, pods on the host's network or a bridge of its own, <c>trustlaunch stream-decrypt</c> its stream processor, asking node 0's agent),
/// judging by <see cref="PublisherKey"/>. The verifier's policy trusts that publisher, the pods' host network and the
/// loopback mirror's golden values for <see cref="Repositories"/>. Node 0 stays Attested; tests that fail a node use node 1.
/// </summary>
public sealed class KbsCriFixture : KbsBrokerStack, IAsyncLifetime
{
    public const string Collection = "kbs-cri";

    public const string SecretKid = "cri-publisher";

    /// <summary>The repositories (<c>docker.io/library/NAME</c>) the tests push images to.</summary>
    public static readonly string[] Repositories = ["secret-cri", "secret-cri-forged", "secret-cri-failed", "enc-cri", "enc-cri-failed", "gateway-cri", "gateway-cri-other"];

    private readonly DirectoryInfo _own = System.IO.Directory.CreateTempSubdirectory("tl-kbs-cri-");

    public KbsCriFixture()
    {
        var (cli, prefix) = ServiceProcess.CliCommand();
        Containerd = new ContainerdFixture { MemorySnapshots = true, PodNetwork = true };
        Containerd.StreamProcessor = [cli, .. prefix, "stream-decrypt", "--agent-socket", StreamProcessorSocket, "--snapshots", Path.GetDirectoryName(Containerd.SnapshotsDirectory)!];
    }

    /// <summary>containerd with its overlayfs snapshots on a tmpfs and <c>trustlaunch stream-decrypt</c> as its ocicrypt stream processor.</summary>
    public ContainerdFixture Containerd { get; }

    /// <summary>The socket the stream processor asks: a link to node 0's agent socket, made once the agents run (containerd starts first).</summary>
    private string StreamProcessorSocket => Path.Combine(_own.FullName, "stream-processor-agent.sock");

    /// <summary>The golden-value publisher's private key (PEM), trusted by the nodes' CRI judges and by the verifier.</summary>
    public string PublisherKey => Path.Combine(_own.FullName, "publisher.pem");

    private string PublisherPublicKey => Path.Combine(_own.FullName, "publisher.pub.pem");

    /// <summary>The P-256 PEM private key the tests' sealed secrets are signed with, under kid <see cref="SecretKid"/>.</summary>
    public string SecretSigningKey => Path.Combine(_own.FullName, "signer.key");

    private string SecretTrust => Path.Combine(_own.FullName, "trust");

    public override string ResourcePolicyJson =>
        $$"""{"rules":[{"resources":["default/key/*"],"verifier_policies":["{{VerifierPolicy}}"]}]}""";

    /// <summary>The CRI socket of node <paramref name="index"/>'s agent.</summary>
    public string CriSocket(int index) => Path.Combine(_own.FullName, $"cri-{index}.sock");

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Containerd.InitializeAsync();
        await InitializeAsync();
        File.CreateSymbolicLink(StreamProcessorSocket, SocketOf(Nodes[0]));
        (await CliAsync("golden", "publish", Containerd.SandboxImagePushed.Reference, "--key", PublisherKey, "--data-dir", Path.Combine(_own.FullName, "golden")))
            .EnsureSuccess("golden publish (sandbox image)");
        await TrustPublisherAndHostNetworkAsync();
    }

    protected override VerifierFleet CreateFleet()
    {
        System.IO.Directory.CreateDirectory(SecretTrust);
        WriteKeyPair(SecretSigningKey, Path.Combine(SecretTrust, SecretKid + ".pem"));
        WriteKeyPair(PublisherKey, PublisherPublicKey);
        string[] Arguments(int node) =>
        [
            "--kbs", BrokerUrl, "--secret-trust", SecretTrust,
            "--cri-listen", $"unix://{CriSocket(node)}", "--cri-backend", $"unix://{Containerd.Socket}", "--cri-trust", PublisherPublicKey,
            .. ContainerdFixture.MirroredRegistries.SelectMany(r => new[] { "--cri-registry-mirror", $"{r}={Containerd.Registry.Host}" }),
        ];
        return new VerifierFleet(2, new AgentDeployment { AgentArguments = Arguments(0) }) { NodeArguments = Arguments(1) };
    }

    /// <summary>
    /// A new version of the policy: the publisher trusted for the tests' images and the sandbox image (golden values of
    /// the loopback mirror's repositories accepted for the names kubelet uses), the pods' host network allowed.
    /// </summary>
    private async Task TrustPublisherAndHostNetworkAsync()
    {
        string keyId;
        using (var verifier = TrustLaunch.Oci.Signing.PemPayloadVerifier.FromFile(PublisherPublicKey))
            keyId = verifier.KeyId;
        var registry = Containerd.Registry.Host;
        var repositories = Repositories.Select(r => $"\"docker.io/library/{r}\": {{\"golden_from\": [\"{registry}/library/{r}\"]}}")
            .Append($"\"registry.k8s.io/pause\": {{\"golden_from\": [\"{registry}/pause\"]}}");
        using var goldenTrust = JsonDocument.Parse($"{{\"repositories\": {{{string.Join(", ", repositories)}}}}}");
        var current = (await Tenant.GetPolicyAsync(VerifierPolicy))!.Policy;
        await Tenant.AddPolicyAsync(current with
        {
            TrustedPublishers = new Dictionary<string, string> { [keyId] = await File.ReadAllTextAsync(PublisherPublicKey) },
            AllowedPublishers = [keyId],
            AllowHostNetwork = true,
            GoldenTrust = goldenTrust.RootElement.Clone(),
        });
    }

    /// <summary>A sealed envelope of <paramref name="value"/> under a new KEK stored at <paramref name="kekPath"/>, signed by <see cref="SecretSigningKey"/>.</summary>
    public Task<string> SealEnvelopeAsync(string kekPath, byte[] value) => SealEnvelopeAsync(kekPath, value, SecretSigningKey, SecretKid);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Containerd.DisposeAsync();
        _own.Delete(recursive: true);
    }
}

[CollectionDefinition(KbsCriFixture.Collection)]
public sealed class KbsCriCollection : ICollectionFixture<KbsCriFixture>;
