using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;

namespace TrustLaunch.Cli.Tests.Commands.Tenant;

/// <summary>
/// keylime_tenant's reglist/regstatus/regdelete, update and a state filter, from the command line against real
/// processes: a registrar, an agent on its own swtpm and a verifier.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TenantParityCommandsTests(AttestedNodeFixture node) : IClassFixture<AttestedNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string AgentId => node.Deployment.AgentId;

    private Task<CliResult> Registrar(params string[] args) => CliHarness.RunAsync([.. args,
        "--registrar", $"https://127.0.0.1:{node.Deployment.RegistrarPort + 1}", "--tls-dir", node.Deployment.TlsDirectory]);

    // One fact: removing the registration at the end must not race the verifier's attestations of the others.
    [Fact]
    public async Task TenantParity_UpdateListRegistrarStatusRemove_ExactOutputAndRefusals()
    {
        await AgentUpdate_ToAPolicyTheLogBreaks_WholeLogAppraisedAfreshAndFailedAsync();
        await RegistrarListAndStatus_ExactOutputAndRefusalsAsync();

        var removed = await Registrar("registrar", "remove", AgentId);
        var status = await Registrar("registrar", "status", AgentId);
        var empty = await Registrar("registrar", "list");

        Assert.Equal((0, $"agent {AgentId} removed from the registrar\n"), (removed.ExitCode, removed.Stdout));
        Assert.Equal((1, $"error: agent '{AgentId}' is not registered at the registrar\n"), (status.ExitCode, status.Stderr));
        Assert.Equal((0, "no agents registered\n"), (empty.ExitCode, empty.Stdout));
    }

    private async Task AgentUpdate_ToAPolicyTheLogBreaks_WholeLogAppraisedAfreshAndFailedAsync()
    {
        var digest = "sha256:" + new string('d', 64);
        // "loose" allows the image digest; its YAML twin "strict" does not (and so fails an old launch of it).
        await File.WriteAllTextAsync(_scratch["loose.json"], $$$"""
            {"name":"loose","trusted_publishers":{},"allowed_image_digests":["{{{digest}}}"],"allowed_publishers":[],"allowed_namespaces":[],
             "launch_pcr":{{{LaunchPcr.Default}}},"expected_pcrs":{}}
            """);
        await File.WriteAllTextAsync(_scratch["strict.yaml"], $$"""
            name: strict
            trusted_publishers: {}
            allowed_image_digests: []
            allowed_publishers: []
            allowed_namespaces: []
            launch_pcr: {{LaunchPcr.Default}}
            expected_pcrs: {}
            """);
        (await node.TenantAsync("policy", "add", _scratch["loose.json"])).EnsureSuccess();
        Assert.Equal("policy strict v1 added\n", (await node.TenantAsync("policy", "add", _scratch["strict.yaml"])).EnsureSuccess().Stdout);
        (await node.TenantAsync("agent", "add", AgentId, "--policy", "loose")).EnsureSuccess();
        var created = await node.Deployment.MeasureAsync(LaunchEvents.ContainerCreated,
            $$"""{"config":"sha256:{{new string('c', 64)}}","container":"app","digest":"{{digest}}","image":"app:v1","namespace":"","network":"pod","pod":"","seccomp":"default"}""");
        await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested
            && s.GetProperty("events_verified").GetInt64() > created.Record.RecNum);

        var attested = (await node.TenantAsync("agent", "list", "--state", "Attested")).EnsureSuccess().Stdout;
        var noneFailed = (await node.TenantAsync("agent", "list", "--state", "Failed")).EnsureSuccess().Stdout;
        var noneFailedJson = (await node.TenantAsync("agent", "list", "--state", "Failed", "--json")).EnsureSuccess().Stdout;
        var update = await node.TenantAsync("agent", "update", AgentId, "--policy", "strict");
        var failed = await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Failed);
        var listFailed = (await node.TenantAsync("agent", "list", "--state", "Failed")).EnsureSuccess().Stdout.Split('\n');
        var same = await node.TenantAsync("agent", "update", AgentId, "--policy", "strict");
        var missing = await node.TenantAsync("agent", "update", AgentId, "--policy", "absent");
        var unknown = await node.TenantAsync("agent", "update", "no-such-agent", "--policy", "loose");
        var badState = await node.TenantAsync("agent", "list", "--state", "Broken");

        Assert.Matches($@"^AGENT +ADDRESS +POLICY +STATE +LAST ATTESTATION +REASON\n{AgentId} +127\.0\.0\.1:{node.Deployment.AgentPort} +loose v1 +Attested +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ +\n$", attested);
        Assert.Equal("no agents Failed\n", noneFailed);
        Assert.Equal("[]\n", noneFailedJson);
        Assert.Equal((0, $"agent {AgentId} now under policy strict v1: Attesting\n"), (update.ExitCode, update.Stdout));
        Assert.Equal($"event {created.Record.RecNum} (ContainerCreated): image {digest} is not allowed by policy 'strict' v1", failed.GetProperty("failure_reason").GetString());
        Assert.Equal("strict", failed.GetProperty("policy").GetString());
        Assert.StartsWith(AgentId, listFailed[1], StringComparison.Ordinal);
        Assert.Contains(" strict v1 ", listFailed[1], StringComparison.Ordinal);
        Assert.Equal((1, $"error: verifier: 409 same policy: agent '{AgentId}' is already held to policy 'strict'\n"), (same.ExitCode, same.Stderr));
        Assert.Equal((1, "error: verifier: 404 no such policy: policy 'absent' does not exist\n"), (missing.ExitCode, missing.Stderr));
        Assert.Equal((1, "error: verifier: 404 no such agent: agent 'no-such-agent' is not under attestation\n"), (unknown.ExitCode, unknown.Stderr));
        Assert.Equal(2, badState.ExitCode);
        Assert.Contains("Argument 'Broken' not recognized. Must be one of:", badState.Stderr, StringComparison.Ordinal);

        // Back to a policy the log keeps: appraised afresh from record 0 again, so Attested without a resume.
        (await node.TenantAsync("agent", "update", AgentId, "--policy", "loose")).EnsureSuccess();
        var back = await node.WaitForStatusAsync(s => s.GetProperty("state").GetString() == AgentStates.Attested);
        Assert.Equal("loose", back.GetProperty("policy").GetString());
    }

    private async Task RegistrarListAndStatus_ExactOutputAndRefusalsAsync()
    {
        var registration = (await node.Deployment.RegistrarManagement().GetAsync(AgentId))!;
        var list = (await Registrar("registrar", "list")).EnsureSuccess().Stdout;
        var listJson = (await Registrar("registrar", "list", "--json")).EnsureSuccess().Json;
        var status = (await Registrar("registrar", "status", AgentId)).EnsureSuccess().Stdout.Split('\n');
        var unknownStatus = await Registrar("registrar", "status", "no-such-agent");
        var unknownRemove = await Registrar("registrar", "remove", "no-such-agent");
        var wrongRole = await CliHarness.RunAsync("registrar", "list", "--registrar", $"https://127.0.0.1:{node.Deployment.RegistrarPort + 1}",
            "--tls-dir", node.Deployment.TlsDirectory, "--tls-name", ServiceRoles.Agent);

        Assert.Matches($@"^AGENT +ADDRESS +ACTIVE +REGISTERED +ACTIVATED\n{AgentId} +127\.0\.0\.1:{node.Deployment.AgentPort} +yes +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ\n$", list);
        Assert.Equal(AgentId, listJson[0].GetProperty("agent_id").GetString());
        Assert.Equal(Convert.ToBase64String(registration.AkPublic), listJson[0].GetProperty("ak_public").GetString());
        Assert.Equal($"agent:           {AgentId}", status[0]);
        Assert.Equal($"address:         127.0.0.1:{node.Deployment.AgentPort}", status[1]);
        Assert.Equal("active:          yes (the TPM answered the credential challenge)", status[2]);
        Assert.Equal($"EK (sha256):     {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(registration.EkPublic))}", status[5]);
        Assert.Matches(@"^EK certificate:  .+, issued by .+, sha256 [0-9a-f]{64}$", status[6]);
        Assert.Equal($"AK (sha256):     {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(registration.AkPublic))}", status[7]);
        Assert.Matches(@"^TLS certificate: .+, issued by .+, sha256 [0-9a-f]{64}$", status[8]);
        Assert.Equal((1, "error: agent 'no-such-agent' is not registered at the registrar\n"), (unknownStatus.ExitCode, unknownStatus.Stderr));
        Assert.Equal((1, "error: agent 'no-such-agent' is not registered at the registrar\n"), (unknownRemove.ExitCode, unknownRemove.Stderr));
        Assert.Equal(1, wrongRole.ExitCode);
        Assert.Contains("client certificate role 'agent' is not allowed here: needs tenant, verifier", wrongRole.Stderr, StringComparison.Ordinal);
    }
}
