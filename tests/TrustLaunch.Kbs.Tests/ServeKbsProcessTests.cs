using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary><c>trustlaunch serve kbs</c> as a real process.</summary>
[Trait("Category", "Slow")]
public sealed class ServeKbsProcessTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-kbs-process-").FullName;
    private ServiceProcess _kbs = null!;
    private int _port;

    private string TlsDirectory => Path.Combine(_directory, "tls");

    public async Task InitializeAsync()
    {
        TestCa.Create(TlsDirectory);
        var key = Path.Combine(_directory, "token-signer.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(key, ec.ExportPkcs8PrivateKeyPem());
        _port = FreePorts.FindPair();
        _kbs = await ServiceProcess.StartAsync("kbs",
        [
            "--data-dir", Path.Combine(_directory, "data"), "--tls-dir", TlsDirectory, "--signing-key", key,
            "--listen", $"127.0.0.1:{_port}",
        ], new Uri($"https://127.0.0.1:{_port}/readyz"), Client(), Path.Combine(_directory, "kbs.log"));
    }

    public async Task DisposeAsync()
    {
        await _kbs.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private HttpClient Client() => TestCa.AnonymousClient(TlsDirectory, _port);

    [Fact]
    public async Task ServeKbs_WrongVersion_401ProtocolVersion()
    {
        using var client = Client();
        using var response = await client.PostAsync("kbs/v0/auth", new StringContent("""{"version":"0.1.0","tee":"tpm"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal(("https://github.com/confidential-containers/kbs/errors/ProtocolVersion",
            "KBS Client Protocol Version Mismatch: the broker speaks 0.4.0, the client 0.1.0"), (error.Type, error.Detail));
    }

    [Fact]
    public async Task ServeKbs_KilledAndRestarted_OldSessionRefusedAsUnknown()
    {
        using var client = Client();
        await KbsFixture.AuthAsync(client);
        await _kbs.KillAsync();
        await _kbs.StartAsync();

        using var response = await client.PostAsync("kbs/v0/attest", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsErrorBody))!;
        Assert.Equal("https://github.com/confidential-containers/kbs/errors/InvalidCookie", error.Type);
    }
}
