using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TrustLaunch.Testing;

/// <summary>
/// A minimal docker token server (the registry's <c>auth.token.realm</c>): <c>GET /token?service=…&amp;scope=…</c> with
/// basic credentials answers <c>{"token": JWT}</c>, an ES256 JWT whose <c>x5c</c> header holds a self-signed
/// certificate the registry trusts through <c>rootcertbundle</c>. Wrong or missing credentials get 401.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;
    private readonly string _issuer;
    private readonly string _service;
    private readonly string _username;
    private readonly string _password;

    private TokenServer(string issuer, string service, string username, string password)
    {
        _issuer = issuer;
        _service = service;
        _username = username;
        _password = password;
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=trustlaunch test token issuer", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertificatePem = _certificate.ExportCertificatePem() + "\n";
        // Kestrel on port 0: the kernel picks a free port while binding, so no other listener can take it in between
        // (HttpListener's managed endpoint map re-binds on Stop and threw on a port taken meanwhile).
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapGet("/token", Answer);
    }

    public string Realm { get; private set; } = "";
    public string CertificatePem { get; }

    /// <summary>Scopes tokens were issued for, one entry per issued token.</summary>
    public ConcurrentQueue<string> IssuedScopes { get; } = new();

    /// <summary>Requests refused for bad credentials.</summary>
    public int Refusals => _refusals;
    private int _refusals;

    public static async Task<TokenServer> StartAsync(string issuer, string service, string username, string password)
    {
        var server = new TokenServer(issuer, service, username, password);
        await server._app.StartAsync();
        var address = server._app.Urls.Single();
        server.Realm = $"http://127.0.0.1:{new Uri(address).Port}/token";
        return server;
    }

    private IResult Answer(HttpRequest request)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password}"));
        if (request.Headers.Authorization.ToString() != expected)
        {
            Interlocked.Increment(ref _refusals);
            return Json(401, """{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}""");
        }
        var scopes = request.Query["scope"].Where(s => s is not null).Select(s => s!);
        var access = new JsonArray();
        foreach (var scope in scopes.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            // repository:NAME:ACTIONS — NAME may not contain ':' here (no ports in repository names).
            var parts = scope.Split(':');
            if (parts.Length != 3)
                continue;
            access.Add(new JsonObject
            {
                ["type"] = parts[0],
                ["name"] = parts[1],
                ["actions"] = new JsonArray(parts[2].Split(',').Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
            });
            IssuedScopes.Enqueue(scope);
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject
        {
            ["typ"] = "JWT",
            ["alg"] = "ES256",
            ["x5c"] = new JsonArray(JsonValue.Create(Convert.ToBase64String(_certificate.RawData))),
        };
        var claims = new JsonObject
        {
            ["iss"] = _issuer,
            ["sub"] = _username,
            ["aud"] = _service,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var signingInput = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        var token = signingInput + "." + Base64Url.EncodeToString(signature);
        return Json(200, JsonSerializer.Serialize(new Dictionary<string, object> { ["token"] = token, ["expires_in"] = 300 }));
    }

    private static IResult Json(int status, string json) => Results.Content(json, "application/json", Encoding.UTF8, status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
        _certificate.Dispose();
    }
}
