using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Agent.Cri;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;
using StopContainerRequest = TrustLaunch.Agent.Cri.V1.StopContainerRequest;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>
/// kubelet's sequence through the CRI endpoint of a real <c>serve agent</c> (own swtpm, registered at a real
/// registrar) while a real verifier polls it: the quoted log replays to the launch PCR, holds every pod and container
/// step, and the verifier, re-judging each event under its policy, says Attested; <c>trustlaunch ps</c> shows the pod's
/// container by pod name.
/// </summary>
[Collection(nameof(ContainerdCollection))]
[Trait("Category", "Slow")]
public sealed class CriAttestedTests(ContainerdFixture containerd) : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-cri-attested-").FullName;
    private readonly ECDsa _publisherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private VerifierFleet _fleet = null!;

    private string CriSocket => Path.Combine(_directory, "cri.sock");
    private string TrustFile => Path.Combine(_directory, "publisher.pub.pem");

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(TrustFile, _publisherKey.ExportSubjectPublicKeyInfoPem());
        var registry = containerd.Registry.Host;
        _fleet = new VerifierFleet(1, new AgentDeployment
        {
            AgentArguments =
            [
                "--cri-listen", $"unix://{CriSocket}", "--cri-backend", $"unix://{containerd.Socket}", "--cri-trust", TrustFile,
                .. ContainerdFixture.MirroredRegistries.SelectMany(r => new[] { "--cri-registry-mirror", $"{r}={registry}" }),
            ],
        });
        await _fleet.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        _publisherKey.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task KubeletSequenceThroughTheAgentsCriEndpoint_EveryStepInTheQuotedLogAndTheNodeAttested()
    {
        var deployment = _fleet.Deployment;
        var (image, pushed, tenant) = await PrepareAsync("app-attested");

        using var kubelet = new ContainerdConnection(CriSocket);
        var runtime = kubelet.Runtime;
        var sandbox = CriPods.Sandbox("web-0", Path.Combine(_directory, "pods"));
        var pod = (await runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
        var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image }, SandboxConfig = sandbox });
        var container = (await runtime.CreateContainerAsync(Sleeping(pod, sandbox, pulled.ImageRef))).ContainerId;
        await runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
        var status = (await runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = container })).Status;
        var exec = await runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "echo", "attested" }, Timeout = 10 });
        var ps = await PsAsync(deployment);
        await runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 0 });
        await runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
        await runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
        await runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });

        Assert.Equal((ContainerState.ContainerRunning, "attested\n"), (status.State, exec.Stdout.ToStringUtf8()));
        var row = Assert.Single(ps, line => line.StartsWith(container[..13] + " ", StringComparison.Ordinal));
        Assert.Matches($@"^{container[..13]} +running +docker\.io/library/app-attested +{pushed.ManifestDigest[..19]} +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {CriPods.Namespace}/web-0$", row);

        var log = await QuotedLogAsync(deployment);
        var events = log.Select(r => r.Content.Split(' ', 3)).Select(p => (Operation: p[1], Content: p[2])).ToList();
        Assert.Equal(
        [
            LaunchEvents.ImageVerified, LaunchEvents.PodSandboxCreated, LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated,
            LaunchEvents.ContainerStarted, LaunchEvents.ContainerExec, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxStopped,
            LaunchEvents.PodSandboxRemoved,
        ], events.Select(e => e.Operation));
        Assert.Equal($"{{\"name\":\"web-0\",\"namespace\":\"{CriPods.Namespace}\",\"pod\":\"{pod}\",\"uid\":\"{sandbox.Metadata.Uid}\"}}", events[1].Content);
        using (var created = JsonDocument.Parse(events[4].Content))
        {
            var c = created.RootElement;
            Assert.Equal((container, pod, "web-0", CriPods.Namespace, sandbox.Metadata.Uid, pushed.ManifestDigest, ContainerIsolation.NetworkHost, ContainerIsolation.SeccompDefault),
                (c.GetProperty("container").GetString(), c.GetProperty("pod").GetString(), c.GetProperty("pod_name").GetString(), c.GetProperty("namespace").GetString(),
                    c.GetProperty("pod_uid").GetString(), c.GetProperty("digest").GetString(), c.GetProperty("network").GetString(), c.GetProperty("seccomp").GetString()));
            Assert.Matches("^sha256:[0-9a-f]{64}$", c.GetProperty("config").GetString());
        }
        Assert.Equal($"{{\"container\":\"{container}\",\"exit_code\":137}}", events[7].Content);

        var attested = await WaitForAgentAsync(tenant, deployment.AgentId, s => s.EventsVerified >= log.Count);
        Assert.Equal((AgentStates.Attested, (string?)null), (attested.State, attested.FailureReason));
    }

    [Fact]
    public async Task AgentKilledAndRestartedWhileThePodRuns_CriSocketBackLogContinuesNodeAttested()
    {
        var deployment = _fleet.Deployment;
        var (image, _, tenant) = await PrepareAsync("app-attested-restart");
        var sandbox = CriPods.Sandbox("web-1", Path.Combine(_directory, "pods"));
        string pod, container;
        long before;
        using (var kubelet = new ContainerdConnection(CriSocket))
        {
            pod = (await kubelet.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = sandbox })).PodSandboxId;
            var pulled = await kubelet.Images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = image } });
            container = (await kubelet.Runtime.CreateContainerAsync(Sleeping(pod, sandbox, pulled.ImageRef))).ContainerId;
            await kubelet.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = container });
            before = (await QuotedLogAsync(deployment)).Count;
        }

        await deployment.Agent!.KillAsync();
        await deployment.StartAgentAsync();
        using (var kubelet = new ContainerdConnection(CriSocket))
        {
            await CriRecoveryTests.BackAsync(kubelet);
            var exec = await kubelet.Runtime.ExecSyncAsync(new ExecSyncRequest { ContainerId = container, Cmd = { "/bin/busybox", "echo", "after" }, Timeout = 10 });
            Assert.Equal("after\n", exec.Stdout.ToStringUtf8());
            await kubelet.Runtime.StopContainerAsync(new StopContainerRequest { ContainerId = container, Timeout = 0 });
            await kubelet.Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = container });
            await kubelet.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = pod });
            await kubelet.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = pod });
        }

        var log = await QuotedLogAsync(deployment);
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), log.Select(r => r.RecNum));
        Assert.Equal(
            [LaunchEvents.ContainerExec, LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted, LaunchEvents.PodSandboxStopped, LaunchEvents.PodSandboxRemoved],
            log.Skip((int)before).Select(r => r.Content.Split(' ', 3)[1]));
        var attested = await WaitForAgentAsync(tenant, deployment.AgentId, s => s.EventsVerified >= log.Count);
        Assert.Equal((AgentStates.Attested, (string?)null), (attested.State, attested.FailureReason));
    }

    /// <summary>A container that sleeps, under containerd's default seccomp profile (the policy does not allow unconfined ones).</summary>
    private static CreateContainerRequest Sleeping(string pod, PodSandboxConfig sandbox, string image)
    {
        var create = CriPods.Container(pod, sandbox, image, "/bin/busybox", "sleep", "3600");
        create.Config.Linux.SecurityContext.Seccomp = new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
        return create;
    }

    /// <summary>
    /// A test image and the sandbox image published by the test publisher, the verifier started with <see cref="Policy"/>
    /// for the agent; kubelet's name for the image, what was pushed, and the verifier's tenant API.
    /// </summary>
    private async Task<(string Image, PushedImage Pushed, Hosting.Clients.VerifierClient Tenant)> PrepareAsync(string name)
    {
        var (image, pushed, _) = await CriPods.PushImageAsync(containerd, name);
        using (var publisher = PemPayloadSigner.FromPem(_publisherKey.ExportPkcs8PrivateKeyPem()))
        {
            await CriGolden.PublishAsync(containerd.SandboxImagePushed.Reference, publisher);
            await CriGolden.PublishAsync(pushed.Reference, publisher);
        }
        var verifier = await _fleet.StartVerifierAsync("cri-verifier", "--quote-interval", "0.3");
        var tenant = _fleet.Tenant(verifier);
        await tenant.AddPolicyAsync(Policy(name));
        await tenant.AddAgentAsync(new AddAgentRequest(_fleet.Deployment.AgentId, "cri"));
        return (image, pushed, tenant);
    }

    /// <summary>
    /// Trusts the test publisher for the pods' images in namespace tenant-a; the fixture's pods share the node's network
    /// (allowed explicitly), and containerd pulls through a loopback mirror, so the golden values name the mirror's
    /// repositories, which the policy's golden_trust accepts for the names kubelet uses.
    /// </summary>
    private PolicyDocument Policy(string repository)
    {
        var registry = containerd.Registry.Host;
        string keyId;
        using (var key = PemPayloadVerifier.FromFile(TrustFile))
            keyId = key.KeyId;
        using var goldenTrust = JsonDocument.Parse($$$"""
            {"repositories": {
              "docker.io/library/{{{repository}}}": {"golden_from": ["{{{registry}}}/library/{{{repository}}}"]},
              "registry.k8s.io/pause": {"golden_from": ["{{{registry}}}/pause"]} } }
            """);
        return new PolicyDocument("cri", new Dictionary<string, string> { [keyId] = File.ReadAllText(TrustFile) }, [], [keyId], [CriPods.Namespace],
            LaunchPcr.Default, new Dictionary<int, string>(), AllowHostNetwork: true, GoldenTrust: goldenTrust.RootElement.Clone());
    }

    /// <summary><c>trustlaunch ps</c> against the agent's local socket, as an operator runs it; its lines.</summary>
    private async Task<string[]> PsAsync(AgentDeployment deployment)
    {
        var (file, prefix) = ServiceProcess.CliCommand();
        var result = (await ProcessRunner.RunAsync(file, [.. prefix, "ps", "--agent-socket", deployment.SocketPath, "--data-dir", Path.Combine(_directory, "cli")],
            timeout: TimeSpan.FromMinutes(1))).EnsureSuccess("trustlaunch ps");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The whole log as the agent quotes it, checked against the launch PCR's value in that quote.</summary>
    private static async Task<IReadOnlyList<CelRecord>> QuotedLogAsync(AgentDeployment deployment)
    {
        using var response = await deployment.GetQuoteAsync("cri-attested"u8.ToArray(), pcrs: LaunchPcr.Default.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.EnsureSuccessStatusCode();
        var evidence = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence))!;
        var replay = EventLogReplay.Replay(evidence.Events, LaunchPcr.Default, Convert.FromHexString(Assert.Single(evidence.Pcrs).Value));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
        Assert.Equal(evidence.LogLength, evidence.Events.Count);
        return evidence.Events;
    }

    private static async Task<AgentStatus> WaitForAgentAsync(Hosting.Clients.VerifierClient tenant, string agentId, Func<AgentStatus, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var status = await tenant.GetAgentAsync(agentId) ?? throw new InvalidOperationException($"the verifier does not know agent {agentId}");
            if (done(status) || status.State == AgentStates.Failed)
                return status;
            Assert.True(DateTime.UtcNow < deadline, $"agent {agentId} never got there: {status}");
            await Task.Delay(200);
        }
    }
}
