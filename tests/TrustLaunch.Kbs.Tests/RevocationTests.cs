using System.Diagnostics;
using System.Net;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;
using Xunit.Abstractions;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Revocation: the broker asks the verifier how a node stands at every attestation and resource request (an answer
/// reused for at most <see cref="KbsBrokerStack.StandingCache"/>), so once the verifier fails a node its sessions and
/// tokens stop working within one quote interval, and it cannot attest again. Fails node 1 of the stack.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsStackFixture.Collection)]
public sealed class RevocationTests(KbsStackFixture stack, ITestOutputHelper output)
{
    private FleetNode Node => stack.Nodes[1];

    [Fact]
    public async Task NodeFailedByTheVerifier_OldSessionTokenAndNewAttestationRefusedWithinOneQuoteInterval()
    {
        var secret = "node1 secret"u8.ToArray();
        await stack.PutResourceAsync("node1/key/revoked", secret);
        var evidence = await stack.EvidenceAsync(Node);
        using var client = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        var token = await KbsWire.AttestAsync(client, evidence, key);
        using (var before = await KbsWire.GetResourceAsync(client, "node1/key/revoked"))
            Assert.Equal(secret, JweJson.Decrypt(await before.Content.ReadAsByteArrayAsync(), key));

        await stack.MeasureAsync(Node, LaunchEvents.ContainerCreated,
            $$"""{"config":"sha256:{{new string('c', 64)}}","container":"intruder","digest":"sha256:{{new string('e', 64)}}","image":"evil:latest","namespace":"","network":"pod","pod":"","seccomp":"default"}""");
        await stack.WaitForStateAsync(Node, AgentStates.Failed);
        var failedSeen = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var probe = await KbsWire.GetResourceAsync(client, "node1/key/revoked");
            status = probe.StatusCode;
        }
        while (status == HttpStatusCode.OK && failedSeen.Elapsed < 2 * KbsBrokerStack.QuoteInterval);
        var refusedAfter = failedSeen.Elapsed;
        output.WriteLine($"refused {refusedAfter.TotalMilliseconds:F0} ms after the verifier reported Failed");

        var refusal = $"agent '{Node.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}";
        Assert.True(refusedAfter <= KbsBrokerStack.QuoteInterval, $"still released {refusedAfter} after the verifier failed the node");
        using (var cookie = await KbsWire.GetResourceAsync(client, "node1/key/revoked"))
            await KbsWire.AssertErrorAsync(cookie, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, refusal);
        using (var other = stack.Client())
        using (var bearer = await KbsWire.GetResourceAsync(other, "node1/key/revoked", bearer: token))
            await KbsWire.AssertErrorAsync(bearer, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, refusal);
        using var again = stack.Client();
        var nonce = await KbsFixture.AuthAsync(again);
        using var teePubkey = System.Text.Json.JsonDocument.Parse(key.PublicJwk.ToJson());
        using var attest = await again.PostAsync("kbs/v0/attest",
            KbsWire.Json(KbsWire.Attestation(nonce, key.PublicJwk, await evidence.CollectAsync(nonce, teePubkey.RootElement, default))));
        await KbsWire.AssertErrorAsync(attest, HttpStatusCode.Unauthorized, KbsErrorNames.AttestationFailed, refusal);
    }

    [Fact]
    public async Task VerifierStopsAttestingTheNode_RefusedOnceItsLastAppraisalIsTooOld_ReleasedAgainAfterResume()
    {
        var node = stack.Nodes[0];
        await stack.PutResourceAsync("default/key/paused", "paused"u8.ToArray());
        using var client = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(client, await stack.EvidenceAsync(node), key);
        var tenant = stack.Tenant;

        await tenant.PauseAgentAsync(node.AgentId, pause: true);
        string refusal;
        try
        {
            refusal = await Eventually.WaitAsync(async () =>
            {
                using var response = await KbsWire.GetResourceAsync(client, "default/key/paused");
                return response.StatusCode == HttpStatusCode.OK ? null : await response.Content.ReadAsStringAsync();
            }, () => "the paused node refused: not reached in time");
        }
        finally
        {
            await tenant.PauseAgentAsync(node.AgentId, pause: false);
        }
        var released = await Eventually.WaitAsync(async () =>
        {
            using var response = await KbsWire.GetResourceAsync(client, "default/key/paused");
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsByteArrayAsync() : null;
        }, () => "released again after resume: not reached in time");

        var error = System.Text.Json.JsonSerializer.Deserialize(refusal, KbsJsonContext.Default.KbsErrorBody)!;
        Assert.Equal(KbsError.TypePrefix + KbsErrorNames.AttestationFailed, error.Type);
        Assert.Matches($@"^agent '{node.AgentId}' was last appraised affirming at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, more than 3 s ago: the verifier is not attesting it now$", error.Detail);
        Assert.Equal("paused"u8.ToArray(), JweJson.Decrypt(released, key));
    }
}
