using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrustLaunch.Testing;

/// <summary>
/// A minimal docker token server (the registry's <c>auth.token.realm</c>): <c>GET /token?service=…&amp;scope=…</c> with
/// basic credentials answers <c>{"token": JWT}</c>, an ES256 JWT whose <c>x5c</c> header holds a self-signed
/// certificate the registry trusts through <c>rootcertbundle</c>. Wrong or missing credentials get 401.
/// </summary>
public sealed class TokenServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;
    private readonly string _issuer;
    private readonly string _service;
    private readonly string _username;
    private readonly string _password;
    private readonly Task _loop;

    private TokenServer(HttpListener listener, int port, string issuer, string service, string username, string password)
    {
        _listener = listener;
        _issuer = issuer;
        _service = service;
        _username = username;
        _password = password;
        Realm = $"http://127.0.0.1:{port}/token";
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=trustlaunch test token issuer", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertificatePem = _certificate.ExportCertificatePem() + "\n";
        _loop = Task.Run(ServeAsync);
    }

    public string Realm { get; }
    public string CertificatePem { get; }

    /// <summary>Scopes tokens were issued for, one entry per issued token.</summary>
    public ConcurrentQueue<string> IssuedScopes { get; } = new();

    /// <summary>Requests refused for bad credentials.</summary>
    public int Refusals => _refusals;
    private int _refusals;

    public static TokenServer Start(string issuer, string service, string username, string password)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePorts.FindPair();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new TokenServer(listener, port, issuer, service, username, password);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                Answer(context);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password}"));
        if (context.Request.Url?.AbsolutePath != "/token")
        {
            context.Response.StatusCode = 404;
            return;
        }
        if (context.Request.Headers["Authorization"] != expected)
        {
            Interlocked.Increment(ref _refusals);
            Write(context.Response, 401, """{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}""");
            return;
        }
        var scopes = context.Request.QueryString.GetValues("scope") ?? [];
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
        Write(context.Response, 200, JsonSerializer.Serialize(new Dictionary<string, object> { ["token"] = token, ["expires_in"] = 300 }));
    }

    private static void Write(HttpListenerResponse response, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _key.Dispose();
        _certificate.Dispose();
    }
}
