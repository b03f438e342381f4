using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace TrustLaunch.Oci.Registry;

/// <summary>
/// A client of the OCI distribution API (v2): anonymous, basic or bearer-token auth, retries with exponential backoff
/// on 5xx / 429 / connection errors, manifests verified against their digest, blobs verified while they stream.
/// Thread-safe; one instance serves many registries.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly RegistryClientOptions _options;
    private readonly ConcurrentDictionary<string, CachedToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _schemes = new(StringComparer.Ordinal);
    private readonly X509Certificate2Collection _extraRoots = [];
    private readonly ConcurrentDictionary<string, Lazy<HttpClient>> _hostClients = new(StringComparer.Ordinal);
    private readonly bool _fixedHandler;

    private sealed record CachedToken(string Token, DateTimeOffset Expires);

    public RegistryClient(RegistryClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new RegistryClientOptions();
        if (_options.ExtraCaPemFile is { } pem)
            _extraRoots.ImportFromPemFile(pem);
        _fixedHandler = handler is not null;
        _http = CreateHttpClient(handler ?? CreateHandler(null));
    }

    public RegistryClientOptions Options => _options;

    public void Dispose()
    {
        _http.Dispose();
        foreach (var client in _hostClients.Values.Where(c => c.IsValueCreated))
            client.Value.Dispose();
        foreach (var c in _extraRoots)
            c.Dispose();
    }

    /// <summary>http for loopback hosts (unless certs.d has a directory for them) and configured insecure registries, https for everything else.</summary>
    public Uri BaseUri(ImageReference reference)
    {
        var host = reference.ApiHost;
        var hostOnly = HostWithoutPort(host);
        var loopback = hostOnly is "localhost" || (IPAddress.TryParse(hostOnly.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        var plain = (loopback && _options.PlainHttpForLoopback && _options.Certs?.Has(host) != true) ||
                    _options.InsecureRegistries.Contains(reference.Registry) || _options.InsecureRegistries.Contains(host) ||
                    _options.InsecureRegistries.Contains(hostOnly) || _options.Registries.IsInsecureHost(host);
        return new Uri($"{(plain ? "http" : "https")}://{host}/v2/");
    }

    private static string HostWithoutPort(string host)
    {
        if (host.StartsWith('['))
            return host[..(host.IndexOf(']', StringComparison.Ordinal) + 1)];
        var colon = host.LastIndexOf(':');
        return colon < 0 ? host : host[..colon];
    }

    /// <summary>A chain the system trusts, or one that ends in <paramref name="roots"/> (extra CAs, certs.d).</summary>
    private static bool ValidateWithRoots(X509Certificate2Collection roots, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
            return true;
        if (roots.Count == 0 || errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is not X509Certificate2 leaf)
            return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (chain is not null)
            foreach (var element in chain.ChainElements)
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        return custom.Build(leaf);
    }

    private static string Scope(ImageReference repo, bool push) => $"repository:{repo.Repository}:{(push ? "pull,push" : "pull")}";

    private RegistryCredentials? CredentialsFor(ImageReference repo) =>
        _options.Credentials.TryGetValue(repo.Registry, out var c) ? c : _options.Credentials.GetValueOrDefault(repo.ApiHost) ?? _options.AuthFiles?.Find(repo);

    private void ApplyAuth(HttpRequestMessage request, ImageReference repo, string scope)
    {
        if (_tokens.TryGetValue(repo.ApiHost + " " + scope, out var token) && token.Expires > DateTimeOffset.UtcNow)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        else if (_schemes.TryGetValue(repo.ApiHost, out var scheme) && scheme == "basic" && CredentialsFor(repo) is { } creds)
            request.Headers.Authorization = BasicHeader(creds);
    }

    private static AuthenticationHeaderValue BasicHeader(RegistryCredentials creds) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{creds.Username}:{creds.Password}")));

    /// <summary>
    /// Sends a request built by <paramref name="make"/> (called once per attempt), answering one auth challenge and
    /// retrying 5xx, 429 and connection failures with exponential backoff. Returns the last response, successful or not.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(ImageReference repo, bool push, Func<HttpRequestMessage> make,
        HttpCompletionOption completion, CancellationToken cancellationToken, bool retry = true)
    {
        var scope = Scope(repo, push);
        var authenticated = false;
        var delay = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            var request = make();
            ApplyAuth(request, repo, scope);
            HttpResponseMessage response;
            try
            {
                response = await HttpFor(repo).SendAsync(request, completion, cancellationToken);
            }
            catch (Exception e) when (retry && attempt < _options.MaxAttempts && !cancellationToken.IsCancellationRequested &&
                                      e is HttpRequestException or IOException or TaskCanceledException && !IsTlsFailure(e))
            {
                await BackoffAsync(ref delay, cancellationToken);
                continue;
            }
            catch (HttpRequestException e)
            {
                var detail = e.InnerException is { } inner ? $"{e.Message.Replace(", see inner exception.", "", StringComparison.Ordinal).TrimEnd('.')}: {inner.Message}" : e.Message;
                throw new RegistryException($"{request.Method} {request.RequestUri}: {detail}", null, [], e);
            }
            if (response.StatusCode == HttpStatusCode.Unauthorized && !authenticated)
            {
                authenticated = true;
                var challenged = await AuthenticateAsync(response, repo, scope, cancellationToken);
                if (challenged)
                {
                    response.Dispose();
                    attempt--;
                    continue;
                }
                return response;
            }
            if (retry && attempt < _options.MaxAttempts && ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests))
            {
                response.Dispose();
                await BackoffAsync(ref delay, cancellationToken);
                continue;
            }
            return response;
        }
    }

    /// <summary>Certificate and handshake failures do not heal by retrying.</summary>
    private static bool IsTlsFailure(Exception e) => e.InnerException is System.Security.Authentication.AuthenticationException;

    private Task BackoffAsync(ref TimeSpan delay, CancellationToken cancellationToken)
    {
        var wait = delay;
        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxBackoff.Ticks));
        return Task.Delay(wait, cancellationToken);
    }

    /// <summary>Answers a 401's challenge: remembers basic auth, or fetches and caches a bearer token. False when
    /// there is nothing new to try (no challenge, or basic auth without credentials).</summary>
    private async Task<bool> AuthenticateAsync(HttpResponseMessage response, ImageReference repo, string scope, CancellationToken cancellationToken)
    {
        var creds = CredentialsFor(repo);
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                if (creds is null)
                    return false;
                _schemes[repo.ApiHost] = "basic";
                return true;
            }
            if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                var parameters = ParseChallenge(challenge.Parameter ?? "");
                if (!parameters.TryGetValue("realm", out var realm))
                    throw new RegistryException($"registry {repo.Registry}: bearer challenge without realm: {challenge.Parameter}", response.StatusCode, []);
                var challengeScope = parameters.GetValueOrDefault("scope") ?? scope;
                var token = await FetchTokenAsync(repo, realm, parameters.GetValueOrDefault("service"), challengeScope, creds, cancellationToken);
                _tokens[repo.ApiHost + " " + scope] = token;
                _tokens[repo.ApiHost + " " + challengeScope] = token;
                _schemes[repo.ApiHost] = "bearer";
                return true;
            }
        }
        return false;
    }

    private async Task<CachedToken> FetchTokenAsync(ImageReference repo, string realm, string? service, string scope, RegistryCredentials? creds, CancellationToken cancellationToken)
    {
        var query = new StringBuilder();
        if (service is not null)
            query.Append("service=").Append(Uri.EscapeDataString(service));
        query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        var uri = new Uri(realm + (realm.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query);
        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.IsLoopback || _options.InsecureRegistries.Contains(uri.Authority) || _options.InsecureRegistries.Contains(uri.Host)))
            throw new RegistryException($"token realm {realm} is not https (allowed only for loopback or insecure registries)", null, []);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (creds is not null)
            request.Headers.Authorization = BasicHeader(creds);
        var issued = DateTimeOffset.UtcNow;
        using var response = await HttpFor(repo).SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, $"token from {realm} for scope {scope}", cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        TokenResponse? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.TokenResponse);
        }
        catch (JsonException e)
        {
            throw new RegistryException($"token from {realm}: answer is not JSON: {e.Message}", response.StatusCode, [], e);
        }
        var token = parsed?.Token ?? parsed?.AccessToken;
        if (string.IsNullOrEmpty(token))
            throw new RegistryException($"token from {realm}: answer has no token", response.StatusCode, []);
        var lifetime = TimeSpan.FromSeconds(Math.Max(parsed!.ExpiresIn ?? 60, 60));
        return new CachedToken(token, issued + lifetime - TimeSpan.FromSeconds(10));
    }

    /// <summary>Parses <c>key="value",key=value</c> pairs; quoted values may hold commas (scopes like pull,push).</summary>
    internal static Dictionary<string, string> ParseChallenge(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
                i++;
            var eq = text.IndexOf('=', i);
            if (eq < 0)
                break;
            var key = text[i..eq].Trim();
            i = eq + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                        i++;
                    value.Append(text[i]);
                }
                i++;
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                    value.Append(text[i]);
            }
            result[key] = value.ToString().Trim();
        }
        return result;
    }

    /// <summary>An exception naming the status and the registry's JSON error codes.</summary>
    private static async Task<RegistryException> ErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        IReadOnlyList<RegistryError> errors = [];
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (body.Length is > 0 and < 1 << 20)
                errors = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.RegistryErrorBody)?.Errors ?? [];
        }
        catch (JsonException)
        {
        }
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        var message = errors.Count == 0 ? $"{what}: {status}" : $"{what}: {status}: {string.Join("; ", errors)}";
        return new RegistryException(message, response.StatusCode, errors);
    }
}
