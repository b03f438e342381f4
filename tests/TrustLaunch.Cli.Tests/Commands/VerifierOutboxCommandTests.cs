using System.Text.RegularExpressions;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Testing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch verifier outbox</c> against a real <c>serve verifier</c> process with <c>--webhook-max-attempts 1</c>:
/// a notification whose webhook refuses connections is dead-lettered at its first attempt and listed (with the
/// error) beside one still waiting for its retry, and the dead letter shows in the metrics. With
/// <c>--retain-results-per-agent 1</c> its first retention round leaves each agent only its newest result.
/// </summary>
[Trait("Category", "Slow")]
public sealed class VerifierOutboxCommandTests : IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly int _port = FreePorts.FindPair();
    private readonly int _closedPort = FreePorts.FindPair();
    private readonly DateTimeOffset _created = DateTimeOffset.UtcNow.AddMinutes(-1);
    private ServiceProcess? _verifier;
    private long _deadId;
    private long _pendingId;
    private long _newestResult;

    private string Tls => _scratch["tls"];

    public async Task InitializeAsync()
    {
        TestCa.Create(Tls, [ServiceRoles.Verifier, ServiceRoles.Tenant]);
        // Queued as a failed attestation queues them: one due now, one already tried and due in an hour.
        await using (var store = await VerifierStore.OpenAsync(StoreLocation.Sqlite, _scratch["verifier"]))
        {
            foreach (var id in new[] { "node-dead", "node-pending" })
            {
                await store.AddAgentAsync(AgentRecord.New(id, "127.0.0.1:9", "prod", 1) with { Paused = true });
                for (var older = 2; older > 0; older--)
                {
                    await store.RecordAttestationAsync((await store.GetAgentAsync(id))!,
                        new AttestationResultRecord(0, id, _created.AddMinutes(-older), "affirming", null, null, 0, "prod:v1", "t"), null, [], null);
                }
                _newestResult = (await store.RecordAttestationAsync((await store.GetAgentAsync(id))!,
                    new AttestationResultRecord(0, id, _created, "contraindicated", "x", null, 0, "prod:v1", "t"), "revocation", [Hook(id)], null))!.Id;
            }
            var entries = await store.ListOutboxAsync(10);
            (_deadId, _pendingId) = (entries[0].Id, entries[1].Id);
            await store.MarkAttemptFailedAsync(_pendingId, "answered 503", _created, DateTimeOffset.UtcNow.AddHours(1), maxAttempts: 20);
        }
        _verifier = await ServiceProcess.StartAsync(ServiceRoles.Verifier,
        [
            "--data-dir", _scratch["verifier"], "--tls-dir", Tls, "--listen", $"127.0.0.1:{_port}", "--tenant-listen", $"127.0.0.1:{_port + 1}",
            "--webhook-max-attempts", "1", "--retain-results-per-agent", "1",
        ], new Uri($"https://127.0.0.1:{_port}/readyz"), Client(), _scratch["verifier.log"]);
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null)
            await _verifier.DisposeAsync();
        _scratch.Dispose();
    }

    [Fact]
    public async Task VerifierOutbox_WebhookRefusesWithOneAttemptAllowed_DeadLetterListedBesidePendingAndCounted()
    {
        var json = await WaitForDeadLetterAsync();
        var table = (await Tenant("verifier", "outbox")).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var metrics = Client();
        var scraped = await metrics.GetStringAsync("metrics");

        Assert.Equal(2, json.GetArrayLength());
        var dead = json[0];
        Assert.Equal((_deadId, "dead", "node-dead", Hook("node-dead"), 1, $"Connection refused (127.0.0.1:{_closedPort})"),
            (dead.GetProperty("id").GetInt64(), dead.GetProperty("state").GetString(), dead.GetProperty("agent_id").GetString(),
                dead.GetProperty("url").GetString(), dead.GetProperty("attempts").GetInt32(), dead.GetProperty("last_error").GetString()));
        Assert.Equal(_created, dead.GetProperty("created_at").GetDateTimeOffset());
        var pending = json[1];
        Assert.Equal((_pendingId, "pending", "node-pending", 1, "answered 503", System.Text.Json.JsonValueKind.Null),
            (pending.GetProperty("id").GetInt64(), pending.GetProperty("state").GetString(), pending.GetProperty("agent_id").GetString(),
                pending.GetProperty("attempts").GetInt32(), pending.GetProperty("last_error").GetString(), pending.GetProperty("dead_at").ValueKind));

        Assert.Equal(3, table.Length);
        Assert.Equal("ID       STATE    AGENT                    ATTEMPTS  CREATED              URL LAST ERROR", table[0]);
        Assert.Matches($@"^{_deadId} +dead +node-dead +1 +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ +{Regex.Escape(Hook("node-dead"))} Connection refused \(127\.0\.0\.1:{_closedPort}\)$", table[1]);
        Assert.Matches($@"^{_pendingId} +pending +node-pending +1 +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ +{Regex.Escape(Hook("node-pending"))} answered 503$", table[2]);
        Assert.Matches(new Regex(@"^trustlaunch_verifier_webhook_dead_letters(\{[^}]*\})? 1( \d+)?$", RegexOptions.Multiline), scraped);
        Assert.Matches(new Regex(@"^trustlaunch_verifier_webhook_pending(\{[^}]*\})? 1( \d+)?$", RegexOptions.Multiline), scraped);
        Assert.Matches(new Regex(@"^trustlaunch_verifier_result_queue_depth(\{[^}]*\})? 0( \d+)?$", RegexOptions.Multiline), scraped);
    }

    [Fact]
    public async Task ServeVerifier_RetainOneResultPerAgent_OnlyEachAgentsNewestLeft()
    {
        var tenant = new VerifierClient(new ServiceHttpClientFactory(TlsIdentity.FromDirectory(Tls, ServiceRoles.Tenant))
            .Create(new Uri($"https://127.0.0.1:{_port + 1}/"), ServiceRoles.Verifier));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        IReadOnlyList<AttestationResultRecord> results;
        while ((results = await tenant.GetResultsAsync("node-pending", 10)).Count > 1)
        {
            Assert.True(DateTime.UtcNow < deadline, $"retention never ran: {results.Count} results left");
            await Task.Delay(200);
        }

        Assert.Equal([(_newestResult, "contraindicated")], results.Select(r => (r.Id, r.Status)));
        Assert.Equal("contraindicated", Assert.Single(await tenant.GetResultsAsync("node-dead", 10)).Status);
    }

    private async Task<System.Text.Json.JsonElement> WaitForDeadLetterAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var json = (await Tenant("verifier", "outbox", "--json")).EnsureSuccess().Json;
            if (json[0].GetProperty("state").GetString() == "dead")
                return json;
            Assert.True(DateTime.UtcNow < deadline, $"the notification was never dead-lettered: {json}");
            await Task.Delay(200);
        }
    }

    private string Hook(string agentId) => $"http://127.0.0.1:{_closedPort}/{agentId}";

    private Task<CliResult> Tenant(params string[] args) =>
        CliHarness.RunAsync([.. args, "--verifier", $"https://127.0.0.1:{_port + 1}", "--tls-dir", Tls, "--tls-name", ServiceRoles.Tenant]);

    private HttpClient Client() =>
        new ServiceHttpClientFactory(TlsIdentity.FromDirectory(Tls, ServiceRoles.Tenant)).Create(new Uri($"https://127.0.0.1:{_port}/"), ServiceRoles.Verifier);
}
