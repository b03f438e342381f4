using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>trustlaunch kbs get-resource</c> on nodes whose agents run the whole Trustee handshake with their own TPM (real
/// registrar, verifier, agents on swtpm and <c>serve kbs</c>), resources put with <c>trustlaunch kbs resource put</c>.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KbsEndToEndTests(KbsEndToEndFixture stack)
{
    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[1];
    private string ProxyUrl => $"https://127.0.0.1:{stack.Proxy.Port}";

    [Fact]
    public async Task GetResource_AttestedNode_CliWritesTheBytes0600OrToStdout()
    {
        var secret = RandomNumberGenerator.GetBytes(48);
        await stack.PutResourceAsync("default/key/e2e-file", secret);
        await stack.PutResourceAsync("default/key/e2e-text", Encoding.UTF8.GetBytes("passphrase for the app"));
        var output = Path.Combine(stack.Directory, "released-" + Guid.NewGuid().ToString("N"));

        (await stack.GetResourceAsync(Attested, "kbs:///default/key/e2e-file", "--out", output)).EnsureSuccess("kbs get-resource --out");
        var printed = (await stack.GetResourceAsync(Attested, "kbs:///key/e2e-text")).EnsureSuccess("kbs get-resource");

        Assert.Equal(secret, await File.ReadAllBytesAsync(output));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(output));
        Assert.Equal("passphrase for the app", printed.StandardOutput);
    }

    [Fact]
    public async Task GetResource_Released_KeyReleasedMeasuredWithoutTheBytesAndVerifierStillAttested()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        await stack.PutResourceAsync("default/key/e2e-log", secret);

        (await stack.GetResourceAsync(Attested, $"kbs://127.0.0.1:{stack.Proxy.Port}/default/key/e2e-log")).EnsureSuccess("kbs get-resource");

        var released = (await stack.ReadLogAsync(Attested))[^1];
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.KeyReleased}} {"broker":"{{ProxyUrl}}","resource":"kbs:///default/key/e2e-log"}""", released.Content);
        var status = await Eventually.WaitAsync(async () => await stack.Tenant.GetAgentAsync(Attested.AgentId) is { } s && s.EventsVerified > released.RecNum ? s : null,
            () => $"the verifier did not appraise event {released.RecNum} in time");
        Assert.Equal((AgentStates.Attested, null), (status.State, status.FailureReason));
    }

    [Fact]
    public async Task GetResource_UriNamingAnotherBroker_RefusedWithoutAHandshake()
    {
        var before = (await stack.ReadLogAsync(Attested)).Count;

        var refused = await stack.GetResourceAsync(Attested, "kbs://10.9.8.7:8080/default/key/e2e-file");

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"error: resource URI 'kbs://10.9.8.7:8080/default/key/e2e-file' names the broker 10.9.8.7:8080; this agent's broker is 127.0.0.1:{stack.Proxy.Port}",
            refused.StandardError.Trim());
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    [Fact]
    public async Task GetResource_MalformedUri_UsageError()
    {
        var refused = await stack.GetResourceAsync(Attested, "kbs:///default/../key");

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("error: resource URI 'kbs:///default/../key': segment '..' is not letters, digits, '.', '_' or '-' (and not '.' or '..')", refused.StandardError.Trim());
    }

    [Fact]
    public async Task GetResource_JweTamperedOnThePath_RefusedByTheAgentAndNotMeasured()
    {
        await stack.PutResourceAsync("default/key/e2e-tamper", RandomNumberGenerator.GetBytes(32));
        var before = (await stack.ReadLogAsync(Attested)).Count;
        stack.Proxy.TamperMember = "ciphertext";
        ProcessResult refused;
        try
        {
            refused = await stack.GetResourceAsync(Attested, "kbs:///default/key/e2e-tamper");
        }
        finally
        {
            stack.Proxy.TamperMember = null;
        }

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("error: the broker's JWE for kbs:///default/key/e2e-tamper is refused: JWE authentication tag mismatch: the ciphertext, tag, IV or protected header was modified",
            refused.StandardError.Trim());
        Assert.Equal("", refused.StandardOutput);
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    [Fact]
    public async Task GetResource_NodeTheVerifierFails_RefusedOnceFailedWithinOneQuoteInterval()
    {
        await stack.PutResourceAsync("default/key/e2e-revoked", RandomNumberGenerator.GetBytes(32));
        (await stack.GetResourceAsync(ToFail, "kbs:///default/key/e2e-revoked")).EnsureSuccess("kbs get-resource while Attested");

        // A container event for a container the log never created: out of policy, so the verifier fails the node.
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var before = (await stack.ReadLogAsync(ToFail)).Count;
        var refused = await stack.GetResourceAsync(ToFail, "kbs:///default/key/e2e-revoked");

        Assert.True(KbsBrokerStack.StandingCache < KbsBrokerStack.QuoteInterval, "the broker's standing cache must be shorter than the quote interval");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"error: kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}",
            refused.StandardError.Trim());
        Assert.Equal(before, (await stack.ReadLogAsync(ToFail)).Count);
    }
}
