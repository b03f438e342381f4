using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Sealed secrets end to end: sealed with <c>trustlaunch secret seal</c>, opened by the node's agent
/// (<c>POST /v1/secret/unseal</c>) through its own Trustee handshake with the real broker, measured as
/// <c>KeyReleased</c> then <c>SecretReleased</c>, the value in no log.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretEndToEndTests(KbsEndToEndFixture stack)
{
    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[2];

    private static async Task<(HttpStatusCode Status, byte[] Body)> UnsealAsync(FleetNode node, string name, string sealedText)
    {
        using var local = UnixSocketHttp.Create(KbsBrokerStack.SocketOf(node));
        local.Timeout = TimeSpan.FromMinutes(2);
        var request = new JsonObject { ["name"] = name, ["sealed"] = sealedText }.ToJsonString();
        using var response = await local.PostAsync("/v1/secret/unseal", new StringContent(request, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    private static string Detail(byte[] problem) => JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString()!;

    [Fact]
    public async Task Unseal_EnvelopeOnAttestedNode_ValueReturnedMeasuredAndInNoLog()
    {
        var value = Encoding.UTF8.GetBytes("e2e-sealed-" + Guid.NewGuid().ToString("N"));
        var sealedText = await stack.SealEnvelopeAsync("default/key/e2e-secret-kek", value);

        var (status, body) = await UnsealAsync(Attested, "db-password", sealedText);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(value, body);
        var log = await stack.ReadLogAsync(Attested);
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.KeyReleased}} {"broker":"https://127.0.0.1:{{stack.Proxy.Port}}","resource":"kbs:///default/key/e2e-secret-kek"}""",
            log[^2].Content);
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.SecretReleased}} {"name":"db-password","sealed_digest":"{{SealedSecret.DigestOf(sealedText)}}"}""",
            log[^1].Content);
        var text = Encoding.UTF8.GetString(value);
        foreach (var file in new[] { Attested.Process.LogFile, stack.Kbs.LogFile })
            Assert.DoesNotContain(text, await File.ReadAllTextAsync(file));
        Assert.DoesNotContain(log, r => r.Content.Contains(text, StringComparison.Ordinal));
        var measured = await Eventually.WaitAsync(async () => await stack.Tenant.GetAgentAsync(Attested.AgentId) is { } s && s.EventsVerified > log[^1].RecNum ? s : null,
            () => $"the verifier did not appraise event {log[^1].RecNum} in time");
        Assert.Equal((AgentStates.Attested, null), (measured.State, measured.FailureReason));
    }

    [Fact]
    public async Task Unseal_VaultOnAttestedNode_TheResourceIsTheValue()
    {
        var value = Encoding.UTF8.GetBytes("vault-" + Guid.NewGuid().ToString("N"));
        await stack.PutResourceAsync("default/key/e2e-vault", value);
        var sealedText = (await KbsBrokerStack.CliAsync("secret", "seal", "vault", "--resource", "kbs:///default/key/e2e-vault",
            "--key", stack.SecretSigningKey, "--kid", KbsEndToEndFixture.SecretKid)).EnsureSuccess("secret seal vault").StandardOutput.Trim();

        var (status, body) = await UnsealAsync(Attested, "api-token", sealedText);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(value, body);
    }

    [Fact]
    public async Task Unseal_BadSignature_RefusedBeforeTheBrokerAndNotMeasured()
    {
        var sealedText = await stack.SealEnvelopeAsync("default/key/e2e-secret-forged", "forged"u8.ToArray());
        var parts = sealedText.Split('.');
        parts[3] = parts[3][..10] + (parts[3][10] == 'A' ? 'B' : 'A') + parts[3][11..];
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var (status, body) = await UnsealAsync(Attested, "forged", string.Join('.', parts));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"sealed secret's signature does not verify under kid '{KbsEndToEndFixture.SecretKid}'", Detail(body));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    [Fact]
    public async Task Unseal_NodeTheVerifierFails_RefusedWithTheBrokersReasonAndNoSecretReleased()
    {
        var value = Encoding.UTF8.GetBytes("never-released-" + Guid.NewGuid().ToString("N"));
        var sealedText = await stack.SealEnvelopeAsync("default/key/e2e-secret-failed", value);
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var before = (await stack.ReadLogAsync(ToFail)).Count;

        var (status, body) = await UnsealAsync(ToFail, "db-password", sealedText);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}", Detail(body));
        Assert.Equal(before, (await stack.ReadLogAsync(ToFail)).Count);
        Assert.DoesNotContain(Encoding.UTF8.GetString(value), await File.ReadAllTextAsync(ToFail.Process.LogFile));
    }

    [Theory]
    [InlineData("../etc", "sealed.e30.e30.AAAA", "secret name is not 1-255 letters, digits, '.', '_' or '-'")]
    [InlineData("db", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "sealed secret does not start with 'sealed.'")]
    public async Task Unseal_BadNameOrForm_RefusedAndNotMeasured(string name, string sealedText, string reason)
    {
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var (status, body) = await UnsealAsync(Attested, name, sealedText);

        Assert.Equal((HttpStatusCode.Forbidden, reason), (status, Detail(body)));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }
}
