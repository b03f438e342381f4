using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch results</c> against a real verifier whose store was tampered with behind its back: what is shown
/// comes from the signed tokens, and a token whose signature does not verify is marked and fails the command.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ResultsCommandTests(AttestedNodeFixture node) : IClassFixture<AttestedNodeFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private Task<CliResult> Tenant(params string[] args) =>
        CliHarness.RunAsync([.. args, "--verifier", node.TenantUrl, "--tls-dir", node.Deployment.TlsDirectory, "--tls-name", ServiceRoles.Tenant]);

    [Fact]
    public async Task Results_StoreColumnsAndTokenTampered_ClaimsShownAndBadSignatureMarked()
    {
        var agentId = node.Deployment.AgentId;
        var policy = _scratch["prod.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("prod", new Dictionary<string, string>(), [], [], [],
            LaunchPcr.Default, new Dictionary<int, string>()), ContractsJsonContext.Default.PolicyDocument));
        (await Tenant("policy", "add", policy)).EnsureSuccess();
        (await Tenant("agent", "add", agentId, "--policy", "prod")).EnsureSuccess();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await Tenant("results", agentId, "--json")).EnsureSuccess().Json.GetArrayLength() < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the verifier recorded fewer than 2 results");
            await Task.Delay(200);
        }
        (await Tenant("agent", "pause", agentId)).EnsureSuccess();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var before = (await Tenant("results", agentId, "--last", "2", "--json")).EnsureSuccess().Json;
        var (newest, older) = (before[0].GetProperty("id").GetInt64(), before[1].GetProperty("id").GetInt64());

        // Someone with write access to the store: the newest result's columns say it failed, the older one's token
        // was re-written to say so (its signature kept).
        var forged = Forge(before[1].GetProperty("token").GetString()!);
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(node.Deployment.Directory, "verifier", "verifier.db")}"))
        {
            await db.OpenAsync();
            await using var command = db.CreateCommand();
            command.CommandText = """
                UPDATE results SET status = 'contraindicated', reason = 'tampered' WHERE id = $newest;
                UPDATE results SET token = $forged WHERE id = $older;
                """;
            command.Parameters.AddWithValue("$newest", newest);
            command.Parameters.AddWithValue("$older", older);
            command.Parameters.AddWithValue("$forged", forged);
            await command.ExecuteNonQueryAsync();
        }
        var json = await Tenant("results", agentId, "--last", "2", "--json");
        var text = await Tenant("results", agentId, "--last", "2");

        Assert.Equal((1, 1), (json.ExitCode, text.ExitCode));
        var shown = json.Json;
        Assert.Equal(("valid", "affirming", "prod:v1"), (shown[0].GetProperty("signature").GetString(), shown[0].GetProperty("status").GetString(),
            shown[0].GetProperty("policy_id").GetString()));
        Assert.Equal(JsonValueKind.Null, shown[0].GetProperty("reason").ValueKind);
        var kid = Jws.Parse(forged).KeyId;
        Assert.Equal($"INVALID: the signature does not verify with key '{kid}'", shown[1].GetProperty("signature").GetString());
        var lines = text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^ID +AT +STATUS +POLICY +LOG +INSTANCE +SIGNATURE +REASON$", lines[0]);
        const string at = @"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ";
        Assert.Matches($@"^{newest} +{at} +affirming +prod:v1 +\d+ +\S+ +valid *$", lines[1]);
        Assert.Matches($@"^{older} +{at} +contraindicated +prod:v1 +\d+ +\S+ +INVALID +forged$", lines[2]);
        Assert.Equal($"         INVALID: the signature does not verify with key '{kid}'", lines[3]);
        Assert.DoesNotContain("tampered", text.Stdout, StringComparison.Ordinal);
    }

    /// <summary>The token with its claims changed to contraindicated (reason "forged"), header and signature kept.</summary>
    private static string Forge(string token)
    {
        var parts = token.Split('.');
        var claims = System.Text.Json.Nodes.JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!;
        foreach (var (_, submod) in claims["submods"]!.AsObject())
        {
            submod!["ear.status"] = "contraindicated";
            submod["trustlaunch.reason"] = "forged";
        }
        return $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{parts[2]}";
    }
}
