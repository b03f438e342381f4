using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using TrustLaunch.Agent.GuestApi;
using TrustLaunch.Agent.GuestApi.AttestationAgent;
using TrustLaunch.Agent.GuestApi.DataHub;
using TrustLaunch.Agent.GuestApi.KeyProvider;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// CoCo's guest-component APIs on the agent's unix sockets, called with real gRPC clients (generated from the same
/// messages) against the real broker stack: the attestation agent's GetEvidence, GetToken and
/// ExtendRuntimeMeasurement, the data hub's GetResource and UnsealSecret, and ocicrypt's KeyProviderService.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestApiEndToEndTests(KbsEndToEndFixture stack) : IDisposable
{
    private readonly List<GrpcChannel> _channels = [];

    private FleetNode Attested => stack.Nodes[0];
    private FleetNode ToFail => stack.Nodes[1];

    public void Dispose()
    {
        foreach (var channel in _channels)
            channel.Dispose();
    }

    private GrpcChannel Channel(FleetNode node, string socket)
    {
        var path = Path.Combine(Path.GetDirectoryName(KbsBrokerStack.SocketOf(node))!, "guest", socket);
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectCallback = UnixSocketHttp.Connect(path) },
        });
        _channels.Add(channel);
        return channel;
    }

    private AttestationAgentService.AttestationAgentServiceClient Agent(FleetNode? node = null) => new(Channel(node ?? Attested, "attestation-agent.sock"));

    private GetResourceService.GetResourceServiceClient Resources(FleetNode? node = null) => new(Channel(node ?? Attested, "confidential-data-hub.sock"));

    private SealedSecretService.SealedSecretServiceClient Secrets() => new(Channel(Attested, "confidential-data-hub.sock"));

    private KeyProviderService.KeyProviderServiceClient KeyProvider() => new(Channel(Attested, "confidential-data-hub.sock"));

    private static async Task<(StatusCode, string)> RefusalAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        return (e.StatusCode, e.Status.Detail);
    }

    [Fact]
    public async Task GetResource_OnAttestedNode_BytesAndKeyReleasedOfTheNode()
    {
        var value = RandomNumberGenerator.GetBytes(24);
        await stack.PutResourceAsync("default/key/guest-resource", value);

        var answer = await Resources().GetResourceAsync(new GetResourceRequest { ResourcePath = "kbs:///default/key/guest-resource" });

        Assert.Equal(value, answer.Resource.ToByteArray());
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.KeyReleased}} {"broker":"https://127.0.0.1:{{stack.Proxy.Port}}","resource":"kbs:///default/key/guest-resource"}""",
            (await stack.ReadLogAsync(Attested))[^1].Content);
    }

    [Fact]
    public async Task GetResource_UnknownResource_NotFoundWithTheBrokersReason()
    {
        Assert.Equal((StatusCode.NotFound, "kbs refused: ResourceNotFound: no resource default/key/guest-never-stored"),
            await RefusalAsync(() => Resources().GetResourceAsync(new GetResourceRequest { ResourcePath = "kbs:///default/key/guest-never-stored" }).ResponseAsync));
    }

    [Fact]
    public async Task GetResource_NodeTheVerifierFails_PermissionDeniedAndNothingReleased()
    {
        await stack.PutResourceAsync("default/key/guest-failed", "never"u8.ToArray());
        await stack.MeasureAsync(ToFail, LaunchEvents.ContainerStarted, """{"container":"never-created"}""");
        await stack.WaitForStateAsync(ToFail, AgentStates.Failed);
        await Task.Delay(KbsBrokerStack.StandingCache);
        var before = (await stack.ReadLogAsync(ToFail)).Count;

        var refusal = await RefusalAsync(() => Resources(ToFail).GetResourceAsync(new GetResourceRequest { ResourcePath = "kbs:///default/key/guest-failed" }).ResponseAsync);

        Assert.Equal((StatusCode.PermissionDenied, $"kbs refused: AttestationFailed: agent '{ToFail.AgentId}' is {AgentStates.Failed} at the verifier, not {AgentStates.Attested}"), refusal);
        Assert.Equal(before, (await stack.ReadLogAsync(ToFail)).Count);
    }

    [Fact]
    public async Task UnsealSecret_VaultSecret_ValueAndSecretReleased_BadSignatureRefusedUnmeasured()
    {
        var value = Encoding.UTF8.GetBytes("guest-vault-" + Guid.NewGuid().ToString("N"));
        await stack.PutResourceAsync("default/key/guest-vault", value);
        var sealedText = (await KbsBrokerStack.CliAsync("secret", "seal", "vault", "--resource", "kbs:///default/key/guest-vault",
            "--key", stack.SecretSigningKey, "--kid", KbsEndToEndFixture.SecretKid)).EnsureSuccess("secret seal vault").StandardOutput.Trim();

        var answer = await Secrets().UnsealSecretAsync(new UnsealSecretInput { Secret = ByteString.CopyFromUtf8(sealedText) });

        Assert.Equal(value, answer.Plaintext.ToByteArray());
        Assert.StartsWith($"{LaunchEvents.Domain} {LaunchEvents.SecretReleased} {{\"name\":\"{DataHubSecretApi.SecretName}\"", (await stack.ReadLogAsync(Attested))[^1].Content, StringComparison.Ordinal);
        var parts = sealedText.Split('.');
        parts[3] = parts[3][..10] + (parts[3][10] == 'A' ? 'B' : 'A') + parts[3][11..];
        var before = (await stack.ReadLogAsync(Attested)).Count;
        Assert.Equal((StatusCode.PermissionDenied, $"sealed secret's signature does not verify under kid '{KbsEndToEndFixture.SecretKid}'"),
            await RefusalAsync(() => Secrets().UnsealSecretAsync(new UnsealSecretInput { Secret = ByteString.CopyFromUtf8(string.Join('.', parts)) }).ResponseAsync));
        Assert.Equal(before, (await stack.ReadLogAsync(Attested)).Count);
    }

    private static KeyProviderKeyWrapProtocolInput UnwrapMessage(byte[] packet) => new()
    {
        KeyProviderKeyWrapProtocolInput_ = ByteString.CopyFromUtf8(
            $$$"""{"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},"keyunwrapparams":{"dc":{"Parameters":{"trustlaunch":["RW5hYmxlZA=="]}},"annotation":"{{{Convert.ToBase64String(packet)}}}"}}"""),
    };

    [Fact]
    public async Task UnWrapKey_PacketOfABrokerKek_OptsDataBack_ForgedPacketRefused()
    {
        var kek = RandomNumberGenerator.GetBytes(KeyProviderPacket.KekLength);
        await stack.PutResourceAsync("default/key/guest-kek", kek);
        const string OptsData = """{"symkey":"c2VjcmV0","cipheroptions":{}}""";
        var packet = KeyProviderPacket.Wrap(Encoding.UTF8.GetBytes(OptsData), kek, "kbs:///default/key/guest-kek");

        var answer = await KeyProvider().UnWrapKeyAsync(UnwrapMessage(packet));

        var results = JsonNode.Parse(answer.KeyProviderKeyWrapProtocolOutput_.ToStringUtf8())!["keyunwrapresults"]!;
        Assert.Equal(OptsData, Encoding.UTF8.GetString(Convert.FromBase64String((string)results["optsdata"]!)));
        var forged = JsonNode.Parse(packet)!.AsObject();
        var wrapped = Convert.FromBase64String((string)forged["wrapped_data"]!);
        wrapped[0] ^= 1;
        forged["wrapped_data"] = Convert.ToBase64String(wrapped);
        Assert.Equal((StatusCode.PermissionDenied, "key provider trustlaunch: the annotation packet for kbs:///default/key/guest-kek does not open under its key-encryption key (forged, or the wrong key)"),
            await RefusalAsync(() => KeyProvider().UnWrapKeyAsync(UnwrapMessage(Encoding.UTF8.GetBytes(forged.ToJsonString()))).ResponseAsync));
    }

    [Fact]
    public async Task WrapKey_OnANode_RefusedAsThePublishersJob()
    {
        var message = new KeyProviderKeyWrapProtocolInput { KeyProviderKeyWrapProtocolInput_ = ByteString.CopyFromUtf8("""{"op":"keywrap"}""") };

        Assert.Equal((StatusCode.PermissionDenied, KeyProviderApi.WrapRefused), await RefusalAsync(() => KeyProvider().WrapKeyAsync(message).ResponseAsync));
    }

    [Fact]
    public async Task GetEvidence_TpmEvidenceBindingTheRuntimeData()
    {
        var runtimeData = RandomNumberGenerator.GetBytes(32);

        var answer = await Agent().GetEvidenceAsync(new GetEvidenceRequest { RuntimeData = ByteString.CopyFrom(runtimeData) });

        var evidence = JsonDocument.Parse(answer.Evidence.Memory).RootElement;
        using var none = JsonDocument.Parse("null");
        Assert.Equal(Convert.ToBase64String(TrustLaunch.Kbs.Attestation.ReportData.Compute("", Convert.ToBase64String(runtimeData), none.RootElement)),
            evidence.GetProperty("primary_evidence").GetProperty("report_data").GetString());
        Assert.Equal("", evidence.GetProperty("additional_evidence").GetString());
    }

    [Fact]
    public async Task GetToken_Kbs_TokenAndTeeKeyPair_OtherTypesRefused()
    {
        var answer = await Agent().GetTokenAsync(new GetTokenRequest { TokenType = "kbs" });

        var token = JsonDocument.Parse(answer.Token.Memory).RootElement;
        Assert.Equal(3, token.GetProperty("token").GetString()!.Split('.').Length);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", token.GetProperty("tee_keypair").GetString(), StringComparison.Ordinal);
        Assert.Equal((StatusCode.PermissionDenied, "token_type 'coco_as' is not supported: only 'kbs'"),
            await RefusalAsync(() => Agent().GetTokenAsync(new GetTokenRequest { TokenType = "coco_as" }).ResponseAsync));
    }

    [Fact]
    public async Task ExtendRuntimeMeasurement_NodeEventMeasuredAndAppraised_TrustlaunchDomainAndRegisterIndexRefused()
    {
        await Agent().ExtendRuntimeMeasurementAsync(new ExtendRuntimeMeasurementRequest { Domain = "guest.example", Operation = "Mounted", Content = "volume=data" });

        var log = await stack.ReadLogAsync(Attested);
        Assert.Equal($$"""{{LaunchEvents.Domain}} {{LaunchEvents.WorkloadEvent}} {"content":"volume=data","domain":"guest.example","operation":"Mounted"}""", log[^1].Content);
        Assert.Equal((StatusCode.PermissionDenied, "domain 'trustlaunch' is TrustLaunch's own: a workload cannot append its events"),
            await RefusalAsync(() => Agent().ExtendRuntimeMeasurementAsync(new ExtendRuntimeMeasurementRequest { Domain = "trustlaunch", Operation = "KeyReleased", Content = "{}" }).ResponseAsync));
        Assert.Equal((StatusCode.PermissionDenied, "RegisterIndex is not for the caller to choose: every event goes to the agent's launch PCR"),
            await RefusalAsync(() => Agent().ExtendRuntimeMeasurementAsync(new ExtendRuntimeMeasurementRequest { Domain = "guest.example", Operation = "Mounted", Content = "x", RegisterIndex = 17 }).ResponseAsync));
        var status = await Eventually.WaitAsync(async () => await stack.Tenant.GetAgentAsync(Attested.AgentId) is { } s && s.EventsVerified > log[^1].RecNum ? s : null,
            () => $"the verifier did not appraise event {log[^1].RecNum} in time");
        Assert.Equal((AgentStates.Attested, null), (status.State, status.FailureReason));
    }
}
