using System.Net;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The admin API on its own mutual-TLS listener, through <c>trustlaunch kbs resource …</c> and <c>kbs policy …</c>;
/// only kbs-admin certificates pass. And the registrar's and verifier's grants to the broker's kbs certificate: the
/// lookups it needs, nothing else.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsStackFixture.Collection)]
public sealed class AdminApiTests(KbsStackFixture stack)
{
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ResourceCommands_PutGetListRm_RoundTrip()
    {
        var file = Path.Combine(stack.Directory, "admin-roundtrip.bin");
        await File.WriteAllBytesAsync(file, [0, 1, 2, 255]);

        var put = await stack.AdminCliAsync("resource", "put", "kbs:///admin/key/roundtrip", "--file", file);
        var got = Path.Combine(stack.Directory, "admin-roundtrip.out");
        var get = await stack.AdminCliAsync("resource", "get", "admin/key/roundtrip", "--out", got);
        var list = await stack.AdminCliAsync("resource", "list", "--json");
        var rm = await stack.AdminCliAsync("resource", "rm", "admin/key/roundtrip");
        var again = await stack.AdminCliAsync("resource", "rm", "admin/key/roundtrip");
        var missing = await stack.AdminCliAsync("resource", "get", "admin/key/roundtrip");

        Assert.Equal((0, "resource admin/key/roundtrip stored (4 bytes)\n"), (put.ExitCode, put.StandardOutput));
        Assert.Equal(0, get.ExitCode);
        Assert.Equal([0, 1, 2, 255], await File.ReadAllBytesAsync(got));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(got));
        using (var listed = JsonDocument.Parse(list.EnsureSuccess("kbs resource list").StandardOutput))
        {
            var entry = listed.RootElement.EnumerateArray().Single(e => e.GetProperty("path").GetString() == "admin/key/roundtrip");
            Assert.Equal(4, entry.GetProperty("size").GetInt64());
            Assert.True(DateTimeOffset.UtcNow - entry.GetProperty("updated").GetDateTimeOffset() < TimeSpan.FromMinutes(1));
        }
        Assert.Equal((0, "resource admin/key/roundtrip removed\n"), (rm.ExitCode, rm.StandardOutput));
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("no resource admin/key/roundtrip", again.StandardError, StringComparison.Ordinal);
        Assert.Contains("no resource admin/key/roundtrip", missing.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCommands_PutShow_NewVersionEachPut()
    {
        var before = await VersionAsync();
        var file = Path.Combine(stack.Directory, "policy-again.json");
        await File.WriteAllTextAsync(file, stack.ResourcePolicyJson);

        var put = (await stack.AdminCliAsync("policy", "put", file, "--json")).EnsureSuccess("kbs policy put");
        var shown = (await stack.AdminCliAsync("policy", "show", "--json")).EnsureSuccess("kbs policy show");

        using var version = JsonDocument.Parse(put.StandardOutput);
        Assert.Equal(before + 1, version.RootElement.GetProperty("version").GetInt32());
        using var view = JsonDocument.Parse(shown.StandardOutput);
        Assert.Equal(before + 1, view.RootElement.GetProperty("version").GetInt32());
        Assert.Equal("default/key/*", view.RootElement.GetProperty("policy").GetProperty("rules")[0].GetProperty("resources")[0].GetString());
    }

    [Fact]
    public async Task PolicyPut_RuleThatMatchesNothing_400AndVersionUnchanged()
    {
        var before = await VersionAsync();
        using var http = Admin(ServiceRoles.KbsAdmin);

        using var response = await http.PutAsync("kbs/v0/admin/policy", new StringContent("""{"rules":[{"resources":["default/key/*"],"agents":[]}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("rule 0: 'agents' is empty: the rule would match nothing (leave it out to not restrict by it)", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, await VersionAsync());
    }

    [Fact]
    public async Task CreateResource_PathAlreadyHeld_412AndTheFirstValueKept()
    {
        var path = TrustLaunch.Kbs.Resources.ResourcePath.Create("admin", "key", "create-only");
        using var http = Admin(ServiceRoles.KbsAdmin);
        var admin = new TrustLaunch.Kbs.Admin.KbsAdminClient(http);

        var first = await admin.CreateResourceAsync(path, [1, 2, 3]);
        var second = await admin.CreateResourceAsync(path, [9, 9, 9]);
        using var request = new HttpRequestMessage(HttpMethod.Put, "kbs/v0/admin/resources/admin/key/create-only") { Content = new ByteArrayContent([7]) };
        request.Headers.IfNoneMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Any);
        using var refused = await http.SendAsync(request);

        Assert.Equal((true, false), (first, second));
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Contains("resource admin/key/create-only exists: create-only put (If-None-Match: *) left it as it was", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], await admin.GetResourceAsync(path));
        await admin.PutResourceAsync(path, [4]);
        Assert.Equal([4], await admin.GetResourceAsync(path));
        Assert.True(await admin.DeleteResourceAsync(path));
    }

    [Fact]
    public async Task AdminApi_TenantCertificate_403NamingTheRole()
    {
        using var http = Admin(ServiceRoles.Tenant);

        using var response = await http.GetAsync("kbs/v0/admin/resources");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("client certificate role 'tenant' is not allowed here: needs kbs-admin", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminRoutes_OnTheAttesterListener_NotServed()
    {
        using var client = stack.Client();

        using var response = await client.GetAsync("kbs/v0/admin/resources");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task KbsCertificate_RegistrarAndVerifier_OnlyTheLookupsTheBrokerNeeds()
    {
        var node = stack.Nodes[0];
        var evidence = await stack.EvidenceAsync(node);
        using var registrar = Service(stack.RegistrarManagementUrl, ServiceRoles.Registrar);
        using var verifier = Service(stack.VerifierTenantUrl, ServiceRoles.Verifier);

        using var byAk = await registrar.GetAsync("v1/agents/by-ak/" + System.Buffers.Text.Base64Url.EncodeToString(evidence.AkPublic));
        using var list = await registrar.GetAsync("v1/agents");
        using var appraisal = await verifier.GetAsync($"v1/agents/{node.AgentId}/appraisal");
        using var policies = await verifier.GetAsync("v1/policies");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.Forbidden),
            (byAk.StatusCode, list.StatusCode, appraisal.StatusCode, policies.StatusCode));
        Assert.Contains(node.AgentId, await byAk.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_HealthReadyMetrics_OnBothListeners()
    {
        using var attesters = stack.Client();
        using var admin = Admin(ServiceRoles.KbsAdmin);
        using var key = Jose.JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(attesters, await stack.EvidenceAsync(stack.Nodes[0]), key);

        Assert.Equal("ok\n", await attesters.GetStringAsync("healthz"));
        Assert.Equal("ready\n", await attesters.GetStringAsync("readyz"));
        Assert.Equal("ready\n", await admin.GetStringAsync("readyz"));
        var metrics = await attesters.GetStringAsync("metrics");
        Assert.Matches(@"(?m)^trustlaunch_kbs_attestations_total(\{[^}]*\})? [1-9]", metrics);
    }

    [Fact]
    public async Task ResourcePut_LargerThanTheLimit_413NothingStored()
    {
        using var http = Admin(ServiceRoles.KbsAdmin);

        using var response = await http.PutAsync("kbs/v0/admin/resources/admin/key/huge", new ByteArrayContent(new byte[Apis.AdminApi.MaxResourceBytes + 1]));
        using var get = await http.GetAsync("kbs/v0/admin/resources/admin/key/huge");

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.NotFound), (response.StatusCode, get.StatusCode));
        Assert.Contains($"the resource is larger than {Apis.AdminApi.MaxResourceBytes} bytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void DataDirectory_OwnerOnly()
    {
        var data = Path.Combine(stack.Directory, "kbs");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "kbs.db")));
    }

    private async Task<int> VersionAsync()
    {
        var shown = (await stack.AdminCliAsync("policy", "show", "--json")).EnsureSuccess("kbs policy show");
        using var view = JsonDocument.Parse(shown.StandardOutput);
        return view.RootElement.GetProperty("version").GetInt32();
    }

    private HttpClient Admin(string certificate) => Service($"https://127.0.0.1:{stack.AdminPort}", ServiceRoles.Kbs, certificate);

    private HttpClient Service(string url, string serverRole, string certificate = ServiceRoles.Kbs)
    {
        var identity = TlsIdentity.FromDirectory(stack.TlsDirectory, certificate);
        return new ServiceHttpClientFactory(identity).Create(new Uri(url + "/"), serverRole);
    }
}
