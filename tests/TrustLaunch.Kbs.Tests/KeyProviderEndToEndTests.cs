using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// <c>trustlaunch keyprovider</c> against the real broker stack: keywrap keeps the key-encryption key at the broker
/// (admin API), keyunwrap gets it through the node agent's attestation. The messages are ocicrypt's protocol JSON as
/// containers/ocicrypt marshals it; no peer tool calls it here (Debian's skopeo links ocicrypt 1.0.3, which predates
/// key providers).
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KeyProviderEndToEndTests(KbsEndToEndFixture stack)
{
    private const string OptsData = """{"symkey":"c2VjcmV0IGxheWVyIGtleSBvZiAzMiBieXRlcyEhISE=","digest":"sha256:00","cipheroptions":{"nonce":"AAAAAAAAAAAAAAAAAAAAAA=="}}""";

    private FleetNode Attested => stack.Nodes[0];

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string WrapMessage(string kid) =>
        $$$"""{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"trustlaunch":["{{{B64(kid)}}}"]},"DecryptConfig":{"Parameters":null}},"optsdata":"{{{B64(OptsData)}}}"},"keyunwrapparams":{"dc":null,"annotation":null}}""";

    private static string UnwrapMessage(byte[] packet) =>
        $$$"""{"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},"keyunwrapparams":{"dc":{"Parameters":{"trustlaunch":["{{{B64("Enabled")}}}"]}},"annotation":"{{{Convert.ToBase64String(packet)}}}"}}""";

    private static async Task<ProcessResult> KeyProviderAsync(string message, params string[] arguments)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        return await ProcessRunner.RunAsync(fileName, [.. prefix, "keyprovider", .. arguments], standardInput: message);
    }

    private async Task<byte[]> WrapAsync(string kid)
    {
        var result = (await KeyProviderAsync(WrapMessage(kid), "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory))
            .EnsureSuccess("keyprovider keywrap");
        var answer = JsonNode.Parse(result.StandardOutput)!.AsObject();
        Assert.Equal(["keywrapresults"], answer.Select(p => p.Key));
        return Convert.FromBase64String((string)answer["keywrapresults"]!["annotation"]!);
    }

    private Task<ProcessResult> UnwrapAsync(byte[] packet) =>
        KeyProviderAsync(UnwrapMessage(packet), "--agent-socket", KbsBrokerStack.SocketOf(Attested));

    private async Task<byte[]> StoredKekAsync(string path)
    {
        var file = Path.Combine(stack.Directory, "kek-" + Guid.NewGuid().ToString("N"));
        (await stack.AdminCliAsync("resource", "get", path, "--out", file)).EnsureSuccess("kbs resource get");
        return await File.ReadAllBytesAsync(file);
    }

    [Fact]
    public async Task KeyWrapThenKeyUnwrap_AttestedNode_OptsDataBackAndKeyReleasedMeasured()
    {
        var packet = await WrapAsync("kbs:///default/key/kp-roundtrip");
        var kek = await StoredKekAsync("default/key/kp-roundtrip");
        var second = await WrapAsync("kbs:///default/key/kp-roundtrip");

        var unwrapped = (await UnwrapAsync(packet)).EnsureSuccess("keyprovider keyunwrap");
        var answer = JsonNode.Parse(unwrapped.StandardOutput)!.AsObject();
        Assert.Equal(["keyunwrapresults"], answer.Select(p => p.Key));
        Assert.Equal(OptsData, Encoding.UTF8.GetString(Convert.FromBase64String((string)answer["keyunwrapresults"]!["optsdata"]!)));
        Assert.Equal(32, kek.Length);
        // A second layer of the same image is wrapped under the same key: the first packet must keep opening.
        Assert.Equal(kek, await StoredKekAsync("default/key/kp-roundtrip"));
        (await UnwrapAsync(second)).EnsureSuccess("keyprovider keyunwrap of the second packet");
        Assert.Equal("kbs:///default/key/kp-roundtrip", (string?)JsonNode.Parse(packet)!["kid"]);
        var released = (await stack.ReadLogAsync(Attested))[^1];
        Assert.Equal(LaunchEvents.KeyReleased, released.Content.Split(' ')[1]);
        Assert.Contains("\"resource\":\"kbs:///default/key/kp-roundtrip\"", released.Content, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(kek), released.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyUnwrap_ForgedWrappedData_Refused()
    {
        var packet = JsonNode.Parse(await WrapAsync("kbs:///default/key/kp-forged"))!.AsObject();
        var wrapped = Convert.FromBase64String((string)packet["wrapped_data"]!);
        wrapped[0] ^= 0x80;
        packet["wrapped_data"] = Convert.ToBase64String(wrapped);

        var refused = await UnwrapAsync(Encoding.UTF8.GetBytes(packet.ToJsonString()));
        Assert.Equal((1, "error: key provider trustlaunch: the annotation packet for kbs:///default/key/kp-forged does not open under its key-encryption key (forged, or the wrong key)", ""),
            (refused.ExitCode, refused.StandardError.Trim(), refused.StandardOutput));
    }

    [Fact]
    public async Task KeyUnwrap_KekReplacedAtTheBroker_RefusedByTheGcmTag()
    {
        var packet = await WrapAsync("kbs:///default/key/kp-replaced");
        await stack.PutResourceAsync("default/key/kp-replaced", RandomNumberGenerator.GetBytes(32));

        var refused = await UnwrapAsync(packet);
        Assert.Equal((1, "error: key provider trustlaunch: the annotation packet for kbs:///default/key/kp-replaced does not open under its key-encryption key (forged, or the wrong key)"),
            (refused.ExitCode, refused.StandardError.Trim()));
    }

    [Fact]
    public async Task KeyUnwrap_UnknownKid_RefusedByTheBroker()
    {
        var packet = await WrapAsync("kbs:///default/key/kp-unknown");
        var forged = JsonNode.Parse(packet)!.AsObject();
        forged["kid"] = "kbs:///default/key/kp-never-stored";

        var refused = await UnwrapAsync(Encoding.UTF8.GetBytes(forged.ToJsonString()));
        Assert.Equal((1, "error: kbs refused: ResourceNotFound: no resource default/key/kp-never-stored"), (refused.ExitCode, refused.StandardError.Trim()));
    }

    [Fact]
    public async Task KeyWrap_ResourceHoldsNoKek_RefusedAndLeftAlone()
    {
        await stack.PutResourceAsync("default/key/kp-short", Encoding.UTF8.GetBytes("short"));

        var refused = await KeyProviderAsync(WrapMessage("kbs:///default/key/kp-short"), "--kbs-admin", $"https://127.0.0.1:{stack.AdminPort}", "--tls-dir", stack.TlsDirectory);
        Assert.Equal((1, "error: resource kbs:///default/key/kp-short holds 5 bytes, not a 32-byte key-encryption key", ""),
            (refused.ExitCode, refused.StandardError.Trim(), refused.StandardOutput));
        Assert.Equal("short"u8.ToArray(), await StoredKekAsync("default/key/kp-short"));
    }
}
