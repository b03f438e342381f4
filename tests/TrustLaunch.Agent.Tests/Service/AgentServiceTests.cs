using System.Net;
using System.Net.Http.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Agent.Tests.Service;

/// <summary><c>trustlaunch serve agent</c> as a real process on a real swtpm, called over mTLS and its unix socket.</summary>
[Trait("Category", "Slow")]
public sealed class AgentServiceTests(AgentDeployment node) : IClassFixture<AgentDeployment>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        if (node.Agent?.ProcessId is null)
            await node.StartAgentAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Quote_AfterMeasureOverSocket_VerifiesAndEventsReplayToQuotedPcr()
    {
        var measured = await node.MeasureAsync(LaunchEvents.ContainerStarted, "{\"container\":\"web-1\"}");
        var info = await node.GetInfoAsync();
        var nonce = "fresh nonce 0001"u8.ToArray();

        using var response = await node.GetQuoteAsync(nonce, pcrs: $"0,{LaunchPcr.Default}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var evidence = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence))!;
        using var ak = TpmPublic.ParseTpm2b(info.AkPublic).ToAsymmetricAlgorithm();
        var verified = QuoteVerifier.Verify(ak, evidence.Quoted, evidence.Signature, evidence.Pcrs.SelectMany(p => Convert.FromHexString(p.Value)).ToArray(), nonce);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(node.AgentId, evidence.AgentId);
        var launch = Assert.Single(evidence.Pcrs, p => p.Index == LaunchPcr.Default);
        var replay = EventLogReplay.Replay(evidence.Events, LaunchPcr.Default, Convert.FromHexString(launch.Value));
        Assert.True(replay.IsValid, replay.Failure?.Reason);
        Assert.Contains(evidence.Events, e => e.RecNum == measured.Record.RecNum && e.Content == "trustlaunch ContainerStarted {\"container\":\"web-1\"}");
        Assert.Equal(evidence.LogLength, evidence.Events.Count);
        Assert.True(info.Ready);
        Assert.Null(info.NotReadyReason);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Quote_AfterImageVerified_CarriesItsGoldenValueKeptContentAddressed0600()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var signer = Oci.Signing.PemPayloadSigner.FromPem(key.ExportPkcs8PrivateKeyPem());
        var jws = Jose.Jws.SignCompact("{\"for\":\"this test\"}"u8, signer, Oci.Golden.GoldenValue.JwsType);
        var golden = Oci.Golden.GoldenValue.JwsDigest(jws);
        var content = $$"""{"digest":"sha256:{{new string('1', 64)}}","golden":"{{golden}}","image":"registry/app:1","mode":"local","publisher":"{{signer.KeyId}}","rootfs":"sha256:{{new string('2', 64)}}"}""";

        var measured = await node.MeasureAsync(LaunchEvents.ImageVerified, content, jws);
        using var response = await node.GetQuoteAsync("golden nonce 0001"u8.ToArray(), since: measured.Record.RecNum);

        var evidence = (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence))!;
        Assert.Equal(new Dictionary<string, string> { [golden] = jws }, evidence.GoldenValues);
        var directory = Path.Combine(node.AgentDataDirectory, "log", "golden");
        var file = Path.Combine(directory, golden.Replace(':', '-') + ".jws");
        Assert.Equal(jws, await File.ReadAllTextAsync(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task Measure_ImageVerifiedWithoutItsGoldenValue_400WithTheReasonNothingMeasured()
    {
        var content = $$"""{"digest":"sha256:{{new string('1', 64)}}","golden":"sha256:{{new string('3', 64)}}","image":"x","mode":"local","publisher":"k","rootfs":"sha256:{{new string('2', 64)}}"}""";
        var before = (await node.GetInfoAsync()).LogLength;

        using var missing = await node.PostMeasureAsync(LaunchEvents.ImageVerified, content);
        using var mismatched = await node.PostMeasureAsync(LaunchEvents.ImageVerified, content, "e30.e30.c2ln");

        Assert.Equal("ImageVerified needs golden_value: the JWS of the golden value the image was checked against",
            (await Problems.ExpectAsync(missing, HttpStatusCode.BadRequest)).Detail);
        Assert.Equal($"golden_value hashes to {Oci.Golden.GoldenValue.JwsDigest("e30.e30.c2ln")}, but the event's golden is sha256:{new string('3', 64)}",
            (await Problems.ExpectAsync(mismatched, HttpStatusCode.BadRequest)).Detail);
        Assert.Equal(before, (await node.GetInfoAsync()).LogLength);
    }

    [Fact]
    public async Task Start_RegistrarUp_RegisteredAndActivatedWithItsKeys()
    {
        var registrar = node.RegistrarManagement();
        RegisteredAgent? registered = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            registered = await registrar.GetAsync(node.AgentId);
            if (registered is { Active: true })
                break;
        }
        var info = await node.GetInfoAsync();

        Assert.NotNull(registered);
        Assert.True(registered.Active, "the agent never activated; its log:\n" + node.Agent!.ReadLog());
        Assert.Equal(info.AkPublic, registered.AkPublic);
        Assert.Equal(info.EkPublic, registered.EkPublic);
        Assert.NotNull(registered.EkCertificate);
        Assert.Equal(File.ReadAllText(Path.Combine(node.TlsDirectory, "agent.crt")).Trim(), registered.TlsCertificate.Trim());
        Assert.Equal($"127.0.0.1:{node.AgentPort}", registered.Address);
    }

    [Fact]
    public async Task Quote_WithoutClientCertificate_RefusedInTheHandshake()
    {
        using var anonymous = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });

        await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync($"https://127.0.0.1:{node.AgentPort}/v1/info"));
    }

    [Fact]
    public async Task Quote_AgentRoleCertificate_Forbidden()
    {
        using var client = node.AgentClient(ServiceRoles.Agent);

        using var response = await client.GetAsync("/v1/quote?nonce=00");

        var problem = await Problems.ExpectAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("client certificate role 'agent' is not allowed here: needs verifier, tenant", problem.Detail);
    }

    [Fact]
    public async Task Quote_MalformedNonce_BadRequestSaysWhy()
    {
        using var client = node.AgentClient(ServiceRoles.Tenant);

        using var response = await client.GetAsync("/v1/quote?nonce=xyz");

        var problem = await Problems.ExpectAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("nonce must be 1 to 64 bytes in hex", problem.Detail);
    }

    [Fact]
    public async Task Measure_UnknownOperation_BadRequestSaysWhy()
    {
        using var response = await node.PostMeasureAsync("Anything", "{}");

        var problem = await Problems.ExpectAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("unknown operation 'Anything': expected one of ContainerCreated, ", problem.Detail);
    }

    [Fact]
    public async Task LocalRoutes_OnlyOnTheirListener_NotFoundElsewhere()
    {
        using var tcp = node.AgentClient();
        using var local = node.LocalClient();

        using var logOverTcp = await tcp.GetAsync("/v1/log");
        using var quoteOverSocket = await local.GetAsync("/v1/quote?nonce=00");
        using var logOverSocket = await local.GetAsync("/v1/log?since=0");

        Assert.Equal(HttpStatusCode.NotFound, logOverTcp.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, quoteOverSocket.StatusCode);
        Assert.Equal(HttpStatusCode.OK, logOverSocket.StatusCode);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(node.SocketPath));
    }

    [Fact]
    public async Task Restart_SameDataDirectory_SameAkAndLog()
    {
        await node.MeasureAsync(LaunchEvents.ContainerDeleted, "{\"container\":\"web-0\"}");
        var before = await node.GetInfoAsync();

        await node.Agent!.StopAsync();
        await node.StartAgentAsync();
        var after = await node.GetInfoAsync();

        Assert.Equal(before.AkPublic, after.AkPublic);
        Assert.Equal(before.EkPublic, after.EkPublic);
        Assert.Equal(before.LogLength, after.LogLength);
        Assert.True(after.Ready);
    }
}
