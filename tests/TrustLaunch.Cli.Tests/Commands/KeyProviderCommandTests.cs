using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch keyprovider</c> refusals decided before any broker or agent is asked, with the protocol's JSON as
/// containers/ocicrypt marshals it (no peer tool here: Debian's skopeo links ocicrypt 1.0.3, before key providers).
/// </summary>
public sealed class KeyProviderCommandTests
{
    private const string Kid = "kbs:///default/image-key/app";

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string WrapMessage(string parametersJson) =>
        $$$"""{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{{{parametersJson}}},"DecryptConfig":{"Parameters":null}},"optsdata":"{{{B64("{}")}}}"},"keyunwrapparams":{"dc":null,"annotation":null}}""";

    private static string UnwrapMessage(byte[] packet) =>
        $$$"""{"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},"keyunwrapparams":{"dc":{"Parameters":{"trustlaunch":["{{{B64("Enabled")}}}"]}},"annotation":"{{{Convert.ToBase64String(packet)}}}"}}""";

    private static byte[] Packet(Action<JsonObject>? change = null, string kid = Kid)
    {
        var packet = JsonNode.Parse(KeyProviderPacket.Wrap("{}"u8, RandomNumberGenerator.GetBytes(32), kid))!.AsObject();
        change?.Invoke(packet);
        return Encoding.UTF8.GetBytes(packet.ToJsonString());
    }

    private static async Task AssertRefused(string stdin, int exitCode, string error, params string[] extra)
    {
        using var scratch = new ScratchDirectory();
        var result = await CliHarness.RunWithInputAsync(stdin, ["keyprovider", "--agent-socket", scratch["agent.sock"], .. extra]);
        Assert.Equal((exitCode, $"error: {error}\n", ""), (result.ExitCode, result.Stderr, result.Stdout));
    }

    [Theory]
    [InlineData("{", "keyprovider: the message is not JSON")]
    [InlineData("[]", "keyprovider: the message is not a JSON object")]
    [InlineData("""{"op":"keysteal"}""", "keyprovider: op 'keysteal' is neither keywrap nor keyunwrap")]
    [InlineData("""{"op":"keywrap","keywrapparams":{"ec":{},"optsdata":"not base64"}}""", "keyprovider: keywrapparams.optsdata is missing or not base64")]
    [InlineData("""{"op":"keywrap","keywrapparams":{"optsdata":"e30="}}""", "keyprovider: keywrapparams.ec is missing or not an object")]
    [InlineData("""{"op":"keyunwrap","keyunwrapparams":{"dc":null,"annotation":null}}""", "keyprovider: keyunwrapparams.annotation is missing or not base64")]
    public async Task KeyProvider_MalformedMessage_ExitsTwo(string stdin, string error) => await AssertRefused(stdin, 2, error);

    [Fact]
    public async Task KeyProvider_MessageOverOneMebibyte_ExitsTwo() =>
        await AssertRefused(new string(' ', KeyProviderProtocolLimit + 1), 2, $"keyprovider: the message on standard input is more than {KeyProviderProtocolLimit} characters");

    private const int KeyProviderProtocolLimit = 1 << 20;

    [Fact]
    public async Task KeyWrap_NoTrustlaunchParameter_ExitsTwo() =>
        await AssertRefused(WrapMessage($$"""{"other":["{{B64("x")}}"]}"""), 2,
            "keyprovider: keywrapparams.ec.Parameters.trustlaunch is missing: encrypt with provider:trustlaunch:kbs:///REPOSITORY/TYPE/TAG");

    [Fact]
    public async Task KeyWrap_TwoResourceUris_ExitsTwo() =>
        await AssertRefused(WrapMessage($$"""{"trustlaunch":["{{B64(Kid)}}","{{B64("kbs:///default/image-key/b")}}"]}"""), 2,
            "keyprovider: keywrapparams.ec.Parameters.trustlaunch holds 2 values: give exactly one provider:trustlaunch:kbs:///… recipient");

    [Theory]
    [InlineData("kbs://kbs.example:8080/default/image-key/app",
        "resource URI 'kbs://kbs.example:8080/default/image-key/app' names the broker kbs.example:8080: the key-encryption key is kept at the --kbs-admin broker, name it kbs:///default/image-key/app")]
    [InlineData("kbs:///default/../app", "resource URI 'kbs:///default/../app': segment '..' is not letters, digits, '.', '_' or '-' (and not '.' or '..')")]
    [InlineData("https://kbs.example/key", "resource URI 'https://kbs.example/key' does not start with kbs://")]
    public async Task KeyWrap_BadResourceUri_ExitsTwoBeforeAskingTheBroker(string kid, string error) =>
        await AssertRefused(WrapMessage($$"""{"trustlaunch":["{{B64(kid)}}"]}"""), 2, error, "--kbs-admin", "https://127.0.0.1:1");

    [Fact]
    public async Task KeyUnwrap_GarbledPacket_ExitsOne() =>
        await AssertRefused(UnwrapMessage(Encoding.UTF8.GetBytes("not a packet")), 1, "key provider trustlaunch: annotation packet is malformed: not JSON");

    [Fact]
    public async Task KeyUnwrap_WrapTypeNotA256Gcm_ExitsOne() =>
        await AssertRefused(UnwrapMessage(Packet(p => p["wrap_type"] = "A128GCM")), 1, "key provider trustlaunch: annotation packet wrap_type 'A128GCM' is not A256GCM");

    [Fact]
    public async Task KeyUnwrap_PacketTooLarge_ExitsOne()
    {
        var packet = Packet(p => p["padding"] = new string('x', KeyProviderPacket.MaxPacketLength));
        await AssertRefused(UnwrapMessage(packet), 1, $"key provider trustlaunch: annotation packet is {packet.Length} bytes, more than {KeyProviderPacket.MaxPacketLength}");
    }

    [Fact]
    public async Task KeyUnwrap_MalformedKid_ExitsTwoBeforeAskingTheAgent() =>
        await AssertRefused(UnwrapMessage(Packet(kid: "kbs:///default/../app")), 2,
            "resource URI 'kbs:///default/../app': segment '..' is not letters, digits, '.', '_' or '-' (and not '.' or '..')");

    [Fact]
    public async Task KeyUnwrap_NoAgent_ExitsOneNamingTheSocket()
    {
        using var scratch = new ScratchDirectory();
        var result = await CliHarness.RunWithInputAsync(UnwrapMessage(Packet()), "keyprovider", "--agent-socket", scratch["agent.sock"]);
        Assert.Equal((1, $"error: no agent socket at {scratch["agent.sock"]}: start `trustlaunch serve agent --kbs URL`, or pass --agent-socket\n"),
            (result.ExitCode, result.Stderr));
    }
}
