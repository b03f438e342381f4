using System.Text.Json;
using Microsoft.Playwright;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands.Dashboard;

/// <summary>
/// The fleet dashboard in a real browser (Debian's chromium, driven by Playwright; no browser download) through
/// <c>trustlaunch dashboard</c>, against a real registrar, agent on swtpm and verifier: the agent shows Attested with
/// its verified launch in the timeline, then turns Failed on a forged event, its reason shown as text; screenshots are
/// kept in <c>artifacts/test-screenshots</c>.
/// </summary>
[Trait("Category", "Slow")]
public sealed class DashboardBrowserTests(ImageRegistryFixture registry, AttestedNodeFixture node)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<AttestedNodeFixture>, IDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    private static readonly string s_screenshots = Path.Combine(RepositoryRoot.Path, "artifacts", "test-screenshots");

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Dashboard_VerifiedLaunchThenForgedEvent_ShowsTheLaunchThenFailedWithTheReasonAsText()
    {
        var image = await registry.PushAsync(registry.LayoutA, "dashboard/app", "v1");
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        string keyId;
        using (var verifier = PemPayloadVerifier.FromFile(pub))
            keyId = verifier.KeyId;
        var policy = _scratch["fleet.json"];
        await File.WriteAllTextAsync(policy, JsonSerializer.Serialize(new PolicyDocument("fleet", new Dictionary<string, string> { [keyId] = pub },
            [], [keyId], [], LaunchPcr.Default, new Dictionary<int, string>()), ContractsJsonContext.Default.PolicyDocument));
        (await node.TenantAsync("policy", "add", policy)).EnsureSuccess();
        (await node.TenantAsync("agent", "add", node.Deployment.AgentId, "--policy", "fleet")).EnsureSuccess();
        var run = await CliHarness.RunAsync("run", "--data-dir", _scratch["data"], "--agent-socket", node.Deployment.SocketPath,
            image.Reference, "--trust", pub, "--name", "web-1", "--attach", "--", "/bin/busybox", "true");
        Assert.Equal(0, run.ExitCode);
        var launched = (await node.Deployment.GetInfoAsync()).LogLength;
        await node.WaitForStatusAsync(s => s.GetProperty("events_verified").GetInt64() >= launched);

        await using var dashboard = await DashboardProcess.StartAsync(node);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };
        page.PageError += (_, error) => errors.Add(error);
        page.Response += (_, response) => { if (response.Status >= 400) errors.Add($"{response.Status} {response.Url}"); };

        await page.GotoAsync(dashboard.Url.ToString());
        Assert.Equal(new Uri(dashboard.Origin, "/dashboard/"), new Uri(page.Url));
        var row = page.Locator($"tr[data-testid=agent-row][data-agent-id='{node.Deployment.AgentId}']");
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", AgentStates.Attested);
        await Assertions.Expect(page.GetByTestId("live")).ToHaveAttributeAsync("data-state", "live");
        await row.ClickAsync();
        var launch = page.GetByTestId("launch").First;
        await Assertions.Expect(launch).ToContainTextAsync($"launched web-1 from {image.Reference} {image.ManifestDigest}");
        await Assertions.Expect(page.Locator("tr[data-testid=policy-row][data-policy=fleet]")).ToContainTextAsync("fleet");
        await Assertions.Expect(page.GetByTestId("instances").Locator("tr[data-testid=instance-row]")).ToContainTextAsync("alive");
        await Screenshot(page, "dashboard-attested.png");

        // A digest that is markup: the node controls it, and it reaches the page inside the failure reason.
        const string markup = "<img src=x onerror=document.title='owned'>";
        var forged = await node.Deployment.MeasureAsync(LaunchEvents.ContainerCreated,
            $$"""{"config":"sha256:{{new string('c', 64)}}","container":"intruder","digest":"{{markup}}","image":"evil:latest","namespace":"","network":"pod","seccomp":"default"}""");
        var expectedReason = $"event {forged.Record.RecNum} (ContainerCreated): image {markup} is not allowed by policy 'fleet' v1";
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", AgentStates.Failed);
        await Assertions.Expect(row.GetByTestId("agent-reason")).ToHaveTextAsync(expectedReason);
        await Assertions.Expect(page.GetByTestId("timeline-reason").First).ToHaveTextAsync(expectedReason);
        await Assertions.Expect(page.GetByTestId("filter-Failed")).ToHaveAttributeAsync("data-count", "1");
        await page.GetByTestId("filter-Attested").Or(page.GetByTestId("filter-all")).First.ClickAsync();
        await page.GetByTestId("filter-Failed").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-testid=agent-row]")).ToHaveCountAsync(1);
        await Screenshot(page, "dashboard-failed.png");

        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.NotEqual("owned", await page.TitleAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task DashboardPort_WithoutTokenOtherHostOrWrite_RefusedWithTheReason()
    {
        await using var dashboard = await DashboardProcess.StartAsync(node);
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = dashboard.Origin };
        var token = dashboard.Url.Query["?token=".Length..];
        var cookie = $"trustlaunch_dashboard_{dashboard.Origin.Port}={token}";

        var noToken = await http.GetAsync("/v1/agents");
        var wrongToken = await http.GetAsync("/?token=" + new string('0', 64));
        using var rebinding = new HttpRequestMessage(HttpMethod.Get, "/v1/agents") { Headers = { { "Cookie", cookie } } };
        rebinding.Headers.Host = $"evil.example:{dashboard.Origin.Port}";
        var otherHost = await http.SendAsync(rebinding);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/v1/policies") { Headers = { { "Cookie", cookie } }, Content = new StringContent("{}") };
        var write = await http.SendAsync(post);
        using var outside = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "Cookie", cookie } } };
        var notDashboard = await http.SendAsync(outside);
        var login = await http.GetAsync(dashboard.Url.PathAndQuery);
        using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/agents") { Headers = { { "Cookie", cookie } } };
        var agents = await http.SendAsync(read);

        Assert.Equal((403, "trustlaunch dashboard: no dashboard token: open the URL trustlaunch dashboard printed\n"), await Answer(noToken));
        Assert.Equal((403, "trustlaunch dashboard: wrong token: open the URL trustlaunch dashboard printed\n"), await Answer(wrongToken));
        Assert.Equal((421, $"trustlaunch dashboard: this port serves {dashboard.Origin.Authority}, not 'evil.example:{dashboard.Origin.Port}'\n"), await Answer(otherHost));
        Assert.Equal((405, "trustlaunch dashboard: the dashboard only reads: GET and HEAD\n"), await Answer(write));
        Assert.Equal((404, "trustlaunch dashboard: '/metrics' is not part of the dashboard\n"), await Answer(notDashboard));
        Assert.Equal(302, (int)login.StatusCode);
        Assert.Equal("/dashboard/", login.Headers.Location?.OriginalString);
        Assert.Contains($"{cookie}; path=/; samesite=strict; httponly", login.Headers.GetValues("Set-Cookie"));
        Assert.Equal(200, (int)agents.StatusCode);
        Assert.StartsWith("[", await agents.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Dashboard_ListenOnANonLoopbackAddress_UsageError()
    {
        var result = await CliHarness.RunAsync("dashboard", "--listen", "0.0.0.0:0", "--verifier", node.TenantUrl, "--tls-dir", node.Deployment.TlsDirectory);

        Assert.Equal((2, "error: --listen 0.0.0.0:0 is not a loopback address: the dashboard port acts as the tenant, so it listens on 127.0.0.1 or ::1 only\n"),
            (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task VerifierDashboard_OtherRoleOrUnknownFile_Refused()
    {
        using var agentClient = new Hosting.Clients.ServiceHttpClientFactory(Hosting.Pki.TlsIdentity.FromDirectory(node.Deployment.TlsDirectory, Hosting.Pki.ServiceRoles.Agent))
            .Create(new Uri(node.TenantUrl), Hosting.Pki.ServiceRoles.Verifier);
        using var tenantClient = new Hosting.Clients.ServiceHttpClientFactory(Hosting.Pki.TlsIdentity.FromDirectory(node.Deployment.TlsDirectory, Hosting.Pki.ServiceRoles.Tenant))
            .Create(new Uri(node.TenantUrl), Hosting.Pki.ServiceRoles.Verifier);

        var asAgent = await agentClient.GetAsync("/dashboard/");
        var events = await agentClient.GetAsync("/v1/events");
        var unknown = await tenantClient.GetAsync("/dashboard/secrets.txt");
        var page = await tenantClient.GetAsync("/dashboard/");

        Assert.Equal(403, (int)asAgent.StatusCode);
        Assert.Contains("client certificate role 'agent' is not allowed here: needs tenant", await asAgent.Content.ReadAsStringAsync());
        Assert.Equal(403, (int)events.StatusCode);
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Contains("the dashboard has no file 'secrets.txt'", await unknown.Content.ReadAsStringAsync());
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType?.ToString());
        Assert.StartsWith("default-src 'none'; script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
    }

    private static async Task<(int, string)> Answer(HttpResponseMessage response) => ((int)response.StatusCode, await response.Content.ReadAsStringAsync());

    private static async Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(s_screenshots);
        var path = Path.Combine(s_screenshots, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(path)[..4]);
    }
}
