using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// The demo's story, told in steps with the key evidence: start the pieces, publish an image's golden value with a
/// key in the HSM, put the node under attestation, launch verified, then three refusals. Every step checks what must
/// happen and throws <see cref="DemoFailedException"/> when it does not.
/// </summary>
internal sealed class DemoStory(DemoStack stack, DemoShell shell, TextWriter output)
{
    private const string PolicyName = "demo";
    private const string Greeting = "Hello from a verified container";
    private static readonly TimeSpan VerifierWait = TimeSpan.FromSeconds(90);

    private int _step;

    private string Image => $"{stack.Registry}/demo/hello:1";
    private string UnsignedImage => $"{stack.Registry}/demo/unsigned:1";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartPiecesAsync(cancellationToken).ConfigureAwait(false);
        var manifest = await PublishAsync(cancellationToken).ConfigureAwait(false);
        await AttestAsync(cancellationToken).ConfigureAwait(false);
        await LaunchVerifiedAsync(cancellationToken).ConfigureAwait(false);
        await RefuseWithoutGoldenValueAsync(cancellationToken).ConfigureAwait(false);
        await RefuseTamperedSnapshotAsync(manifest, cancellationToken).ConfigureAwait(false);
        await CatchForgedEventAsync(manifest, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartPiecesAsync(CancellationToken cancellationToken)
    {
        await StepAsync("Start a registry, a TPM, an HSM, the attestation services and a node agent").ConfigureAwait(false);
        stack.CreateCertificates();
        await DoneAsync("CA and mTLS certificates for registrar, verifier, agent, tenant", "tls/").ConfigureAwait(false);
        await stack.StartTpmAsync(cancellationToken).ConfigureAwait(false);
        await DoneAsync("swtpm: a TPM 2.0 with an EK certificate", stack.Tpm).ConfigureAwait(false);
        stack.WriteSoftHsmConfig();
        await shell.RunCheckedAsync(["hsm", "init-token", DemoStack.TokenLabel, "--so-pin-file", stack.SoPinFile, "--pin-file", stack.UserPinFile],
            cancellationToken).ConfigureAwait(false);
        await DoneAsync($"SoftHSM token '{DemoStack.TokenLabel}', random PINs in 0600 files", "softhsm/").ConfigureAwait(false);
        await stack.StartRegistryAsync(cancellationToken).ConfigureAwait(false);
        await DoneAsync("docker-registry", stack.Registry).ConfigureAwait(false);
        await stack.StartRegistrarAsync(cancellationToken).ConfigureAwait(false);
        await DoneAsync("registrar: admits TPMs whose EK certificate chains to swtpm's CA", $"127.0.0.1:{stack.RegistrarPort}").ConfigureAwait(false);
        await stack.StartVerifierAsync(cancellationToken).ConfigureAwait(false);
        await DoneAsync("verifier: quotes each node it watches every 0.5 s", $"127.0.0.1:{stack.VerifierPort}").ConfigureAwait(false);
        await stack.StartAgentAsync(cancellationToken).ConfigureAwait(false);
        await DoneAsync("agent: registered (EK certificate checked, AK proven by credential activation)", $"127.0.0.1:{stack.AgentPort}").ConfigureAwait(false);
        await ResultAsync($"agent id {stack.AgentId}").ConfigureAwait(false);
    }

    private async Task<Digest> PublishAsync(CancellationToken cancellationToken)
    {
        await StepAsync("Publish an image and its golden value, signed by a key that never leaves the HSM").ConfigureAwait(false);
        var digest = await PushAsync(Image, "the demo's image", "This image matches its golden value.\n", cancellationToken).ConfigureAwait(false);
        await shell.RunCheckedAsync(["hsm", "keygen", "--token", DemoStack.TokenLabel, "--pin-file", stack.UserPinFile, "--type", "ec:p256",
            "--label", DemoStack.PublisherKeyLabel], cancellationToken).ConfigureAwait(false);
        var publicKey = await shell.RunCheckedAsync(["hsm", "export", "--token", DemoStack.TokenLabel, "--pin-file", stack.UserPinFile,
            "--key", DemoStack.PublisherKeyLabel], cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(stack.PublisherPublicKey, publicKey, cancellationToken).ConfigureAwait(false);
        var published = await shell.RunCheckedAsync(["golden", "publish", Image, "--key", stack.PublisherKeyUri, "--expires", "30d"], cancellationToken)
            .ConfigureAwait(false);
        await EvidenceAsync(string.Join('\n', published.Split('\n').Where(l => l.StartsWith("published ", StringComparison.Ordinal)
            || l.StartsWith("rootfs:", StringComparison.Ordinal) || l.StartsWith("key id:", StringComparison.Ordinal)))).ConfigureAwait(false);
        return digest;
    }

    private async Task AttestAsync(CancellationToken cancellationToken)
    {
        await StepAsync("Put the node under attestation: the policy trusts the publisher's key").ConfigureAwait(false);
        string keyId;
        using (var verifier = PemPayloadVerifier.FromFile(stack.PublisherPublicKey))
            keyId = verifier.KeyId;
        var policyFile = Path.Combine(stack.Directory, "policy.json");
        var policy = new PolicyDocument(PolicyName, new Dictionary<string, string> { [keyId] = await File.ReadAllTextAsync(stack.PublisherPublicKey, cancellationToken).ConfigureAwait(false) },
            [], [keyId], [], LaunchPcr.Default, new Dictionary<int, string>());
        await File.WriteAllTextAsync(policyFile, JsonSerializer.Serialize(policy, ContractsJsonContext.Default.PolicyDocument), cancellationToken).ConfigureAwait(false);
        await shell.RunCheckedAsync(["policy", "add", policyFile], cancellationToken).ConfigureAwait(false);
        await shell.RunCheckedAsync(["agent", "add", stack.AgentId, "--policy", PolicyName], cancellationToken).ConfigureAwait(false);
        var status = await WaitForAgentAsync(s => s.State == AgentStates.Attested, cancellationToken).ConfigureAwait(false);
        await ResultAsync($"verifier: {status.State} (TPM quote over PCR {LaunchPcr.Default} and the node's event log verified)").ConfigureAwait(false);
    }

    private async Task LaunchVerifiedAsync(CancellationToken cancellationToken)
    {
        await StepAsync("A verified launch: golden value checked, every step measured into the TPM").ConfigureAwait(false);
        var since = await LogLengthAsync(cancellationToken).ConfigureAwait(false);
        var run = await shell.RunAsync(["run", Image, "--name", "hello", "--attach", "--", "/bin/sh", "-c", $"echo {Greeting}; cat /etc/motd"],
            cancellationToken).ConfigureAwait(false);
        foreach (var line in run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            await output.WriteLineAsync($"    │ {line}").ConfigureAwait(false);
        if (run.ExitCode != 0 || !run.Stdout.StartsWith(Greeting + "\n", StringComparison.Ordinal))
            throw new DemoFailedException($"the verified launch should print '{Greeting}' and exit 0; it exited {run.ExitCode}: {CliApp.OneLine((run.Stderr + run.Stdout).Trim())}");
        await shell.RunCheckedAsync(["rm", "hello"], cancellationToken).ConfigureAwait(false);
        var events = await EventsAsync(since, cancellationToken).ConfigureAwait(false);
        string[] expected = [LaunchEvents.ImagePulled, LaunchEvents.ImageVerified, LaunchEvents.ContainerCreated, LaunchEvents.ContainerStarted,
            LaunchEvents.ContainerStopped, LaunchEvents.ContainerDeleted];
        if (!events.Select(e => e.Line.Operation).SequenceEqual(expected))
            throw new DemoFailedException($"the launch should be measured as {string.Join(", ", expected)}; the log has {string.Join(", ", events.Select(e => e.Line.Operation))}");
        var verified = events[1].Line.Content;
        await ResultAsync($"measured into PCR {LaunchPcr.Default}: {string.Join(", ", expected)} (records {events[0].Record.RecNum}–{events[^1].Record.RecNum})").ConfigureAwait(false);
        await ResultAsync($"ImageVerified: {verified.GetProperty("digest").GetString()}, publisher {verified.GetProperty("publisher").GetString()}").ConfigureAwait(false);
        var length = await LogLengthAsync(cancellationToken).ConfigureAwait(false);
        var status = await WaitForAgentAsync(s => s.EventsVerified >= length || s.State == AgentStates.Failed, cancellationToken).ConfigureAwait(false);
        if (status.State != AgentStates.Attested)
            throw new DemoFailedException($"after a verified launch the node should stay Attested; it is {status.State}: {status.FailureReason}");
        await ResultAsync($"verifier: still {status.State}, {status.EventsVerified} of {length} events verified against the TPM quote").ConfigureAwait(false);
    }

    private async Task RefuseWithoutGoldenValueAsync(CancellationToken cancellationToken)
    {
        await StepAsync("Refused: an image nobody published a golden value for").ConfigureAwait(false);
        var digest = await PushAsync(UnsignedImage, "same busybox, another /etc/motd", "Nobody vouches for this image.\n", cancellationToken).ConfigureAwait(false);
        var since = await LogLengthAsync(cancellationToken).ConfigureAwait(false);
        var run = await shell.RunAsync(["run", UnsignedImage, "--name", "unsigned"], cancellationToken).ConfigureAwait(false);
        var reason = $"no golden value for {UnsignedImage} (tag {Oci.Golden.GoldenArtifact.TagFor(digest)} not found)";
        await ExpectRefusalAsync(run, reason, since, cancellationToken).ConfigureAwait(false);
    }

    private async Task RefuseTamperedSnapshotAsync(Digest manifest, CancellationToken cancellationToken)
    {
        await StepAsync("Refused: the node's unpacked copy of a verified image, changed after the pull").ConfigureAwait(false);
        var motd = Path.Combine(stack.NodeDataDirectory, "snapshots", manifest.Hex, "rootfs", "etc", "motd");
        await File.AppendAllTextAsync(motd, "an intruder was here\n", cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"  (appended a line to {motd.Replace(stack.Directory, "$DEMO", StringComparison.Ordinal)}, as an intruder on the node could)").ConfigureAwait(false);
        var since = await LogLengthAsync(cancellationToken).ConfigureAwait(false);
        var run = await shell.RunAsync(["run", Image, "--name", "tampered"], cancellationToken).ConfigureAwait(false);
        var prefix = "rootfs digest mismatch: golden value has sha256:";
        await ExpectRefusalAsync(run, prefix, since, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Root on the node posts a forged <c>ImageVerified</c> for an image nobody vouched for, naming the trusted
    /// publisher and carrying the real golden value of the demo's image, and a <c>ContainerCreated</c> of it: the agent
    /// measures both, and the verifier, which checks the golden value itself, finds it is for another image.
    /// </summary>
    private async Task CatchForgedEventAsync(Digest manifest, CancellationToken cancellationToken)
    {
        await StepAsync("Caught: a forged ImageVerified and ContainerCreated forced into the log behind the launcher's back").ConfigureAwait(false);
        var intruder = "sha256:" + new string('e', 64);
        string jws;
        using (var client = new RegistryClient())
        {
            var (_, found, _, _) = await Oci.Golden.GoldenFetch.FetchArtifactAsync(client, ImageReference.Parse(Image), manifest, cancellationToken).ConfigureAwait(false);
            jws = found ?? throw new DemoFailedException($"the golden value of {Image} is gone from the registry");
        }
        using (var verifier = PemPayloadVerifier.FromFile(stack.PublisherPublicKey))
        {
            var verified = JsonSerializer.SerializeToElement(new ImageVerifiedEvent("evil:latest", intruder, "local", verifier.KeyId, Oci.Golden.GoldenValue.JwsDigest(jws),
                "sha256:" + new string('f', 64)), LaunchEventsJsonContext.Default.ImageVerifiedEvent);
            var created = JsonSerializer.SerializeToElement(new ContainerCreatedEvent("intruder", "", "", "evil:latest", intruder, "sha256:" + new string('c', 64),
                ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault), LaunchEventsJsonContext.Default.ContainerCreatedEvent);
            using var measurer = new AgentSocketMeasurer(stack.AgentSocket);
            var forged = await measurer.MeasureAsync(LaunchEvents.ImageVerified, verified, jws, cancellationToken).ConfigureAwait(false);
            await measurer.MeasureAsync(LaunchEvents.ContainerCreated, created, null, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"  (POST /v1/measure on the agent's socket: ImageVerified of evil:latest {intruder[..19]}… by publisher {verifier.KeyId[..8]}… " +
                $"with the demo image's golden value, record {forged.Record.RecNum}; then its ContainerCreated)").ConfigureAwait(false);
            var status = await WaitForAgentAsync(s => s.State == AgentStates.Failed, cancellationToken).ConfigureAwait(false);
            var expected = $"event {forged.Record.RecNum} (ImageVerified): golden value NOT verified: manifest digest mismatch: golden value is for {manifest}, image is {intruder}";
            if (status.FailureReason != expected)
                throw new DemoFailedException($"the verifier should fail the node with '{expected}'; it says '{status.FailureReason}'");
            await ResultAsync($"verifier: {status.State}: {status.FailureReason}").ConfigureAwait(false);
        }
        var results = await shell.RunCheckedAsync(["results", stack.AgentId, "--last", "1"], cancellationToken).ConfigureAwait(false);
        await EvidenceAsync(results).ConfigureAwait(false);
    }

    /// <summary>The run must exit 3 with <c>NOT verified: REASON…</c>, measured as ImageRejected; the node stays Attested.</summary>
    private async Task ExpectRefusalAsync(ProcessOutcome run, string reasonPrefix, long since, CancellationToken cancellationToken)
    {
        var message = run.Stderr.TrimEnd('\n');
        await output.WriteLineAsync($"    {message}").ConfigureAwait(false);
        if (run.ExitCode != ExitCodes.NotVerified || !message.StartsWith("NOT verified: " + reasonPrefix, StringComparison.Ordinal))
            throw new DemoFailedException($"the launch should be refused (exit 3, NOT verified: {reasonPrefix}…); it exited {run.ExitCode}: {CliApp.OneLine((run.Stderr + run.Stdout).Trim())}");
        var events = await EventsAsync(since, cancellationToken).ConfigureAwait(false);
        if (events is not [{ Line.Operation: LaunchEvents.ImageRejected } rejected])
            throw new DemoFailedException($"the refusal should be measured as one ImageRejected event; the log has {string.Join(", ", events.Select(e => e.Line.Operation))}");
        var length = await LogLengthAsync(cancellationToken).ConfigureAwait(false);
        var status = await WaitForAgentAsync(s => s.EventsVerified >= length || s.State == AgentStates.Failed, cancellationToken).ConfigureAwait(false);
        if (status.State != AgentStates.Attested)
            throw new DemoFailedException($"a refused launch should leave the node Attested; it is {status.State}: {status.FailureReason}");
        await ResultAsync($"exit 3, nothing started; the refusal is measured too (ImageRejected, record {rejected.Record.RecNum}); node still {status.State}").ConfigureAwait(false);
    }

    private async Task<Digest> PushAsync(string reference, string what, string motd, CancellationToken cancellationToken)
    {
        using var client = new RegistryClient();
        var digest = await DemoImages.PushAsync(client, ImageReference.Parse(reference), new Dictionary<string, string> { ["/etc/motd"] = motd }, cancellationToken)
            .ConfigureAwait(false);
        await DoneAsync($"pushed {reference} ({what})", digest.ToString()[..19] + "…").ConfigureAwait(false);
        return digest;
    }

    private async Task<AgentStatus> WaitForAgentAsync(Func<AgentStatus, bool> done, CancellationToken cancellationToken)
    {
        using var http = stack.TenantClient();
        var verifier = new VerifierClient(http);
        var deadline = DateTime.UtcNow + VerifierWait;
        while (true)
        {
            var status = await verifier.GetAgentAsync(stack.AgentId, cancellationToken).ConfigureAwait(false)
                ?? throw new DemoFailedException($"the verifier does not know agent {stack.AgentId}");
            if (done(status))
                return status;
            if (DateTime.UtcNow > deadline)
                throw new DemoFailedException($"the verifier did not reach the expected state within {VerifierWait.TotalSeconds:0} s: it says {status.State} {status.FailureReason}");
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<long> LogLengthAsync(CancellationToken cancellationToken) =>
        (await ReadLogAsync(0, cancellationToken).ConfigureAwait(false)).Count;

    private async Task<IReadOnlyList<(CelRecord Record, EventLine Line)>> EventsAsync(long since, CancellationToken cancellationToken) =>
        (await ReadLogAsync(since, cancellationToken).ConfigureAwait(false)).Select(r => (r, EventLine.Parse(r.Content))).ToList();

    private async Task<IReadOnlyList<CelRecord>> ReadLogAsync(long since, CancellationToken cancellationToken)
    {
        using var local = UnixSocketHttp.Create(stack.AgentSocket);
        return await local.GetFromJsonAsync($"/v1/log?since={since}", ContractsJsonContext.Default.IReadOnlyListCelRecord, cancellationToken).ConfigureAwait(false)
            ?? throw new DemoFailedException("the agent answered its log with nothing");
    }

    private Task StepAsync(string title) => output.WriteLineAsync($"\n{++_step}. {title}");

    private Task DoneAsync(string what, string where) => output.WriteLineAsync($"  ✓ {what,-78} {where}");

    private Task ResultAsync(string text) => output.WriteLineAsync($"  → {text}");

    private async Task EvidenceAsync(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            await output.WriteLineAsync($"    {line}").ConfigureAwait(false);
    }
}
