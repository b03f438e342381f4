using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Client;

/// <summary>
/// A Trustee KBS client (protocol 0.4.0): <c>/auth</c> → challenge and session cookie, <c>/attest</c> with an
/// ephemeral P-256 tee-pubkey and evidence from <see cref="ITeeEvidenceSource"/> → attestation token, then
/// <c>GET /resource/REPOSITORY/TYPE/TAG</c> (with the cookie or the token as bearer) → a JWE to the tee-pubkey,
/// opened here. The session cookie is kept per handshake, never in the HttpClient's cookie jar, so one HttpClient
/// serves concurrent handshakes. Broker refusals are <see cref="KbsRefusedException"/>; what this client refuses
/// is <see cref="KbsProtocolException"/>.
/// </summary>
public sealed class KbsClient(HttpClient http, Uri broker, ITeeEvidenceSource evidence)
{
    /// <summary>Answers larger than this are refused before they are read whole.</summary>
    public const int MaxAnswerBytes = 8 * 1024 * 1024;

    public Uri Broker { get; } = broker ?? throw new ArgumentNullException(nameof(broker));

    /// <summary>Runs the whole handshake and fetches one resource with the session cookie.</summary>
    public Task<byte[]> FetchAsync(KbsResourceUri resource, CancellationToken cancellationToken = default) => FetchAsync(resource, null, cancellationToken);

    /// <summary>The handshake for <paramref name="container"/> of this node (null: the node itself), then one resource.</summary>
    public async Task<byte[]> FetchAsync(KbsResourceUri resource, ContainerEvidence? container, CancellationToken cancellationToken)
    {
        using var session = await AttestAsync(container, cancellationToken).ConfigureAwait(false);
        return await GetResourceAsync(session, resource, KbsCredential.Cookie, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>/auth</c> then <c>/attest</c>; the session holds the tee key resources are encrypted to.</summary>
    public Task<KbsAttestedSession> AttestAsync(CancellationToken cancellationToken = default) => AttestAsync(null, cancellationToken);

    /// <summary><c>/auth</c> then <c>/attest</c> for <paramref name="container"/> of this node (its id in the additional
    /// evidence, <see cref="ContainerEvidence"/>), or for the node itself when null.</summary>
    public async Task<KbsAttestedSession> AttestAsync(ContainerEvidence? container, CancellationToken cancellationToken)
    {
        var (nonce, cookie) = await AuthAsync(cancellationToken).ConfigureAwait(false);
        var key = JweDecryptionKey.CreateP256();
        try
        {
            using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
            var additional = container?.Encode() ?? "";
            var tee = await evidence.CollectAsync(nonce, teePubkey.RootElement, additional, cancellationToken).ConfigureAwait(false);
            var body = new KbsAttestation(new KbsRuntimeData(nonce, teePubkey.RootElement), tee);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Broker, "kbs/v0/attest"))
            {
                Content = Json(JsonSerializer.SerializeToUtf8Bytes(body, KbsJsonContext.Default.KbsAttestation)),
            };
            request.Headers.Add("Cookie", $"{CookieName}={cookie}");
            var token = await SendAsync(request, "attest", KbsJsonContext.Default.KbsAttestationToken, cancellationToken).ConfigureAwait(false);
            if (token.Token.Length == 0)
                throw new KbsProtocolException("the broker's attest answer holds an empty token");
            return new KbsAttestedSession(cookie, token.Token, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Fetches and opens one resource of an attested session.</summary>
    /// <exception cref="KbsProtocolException">The URI names another broker, or the JWE is refused (the reason named).</exception>
    public async Task<byte[]> GetResourceAsync(KbsAttestedSession session, KbsResourceUri resource, KbsCredential credential, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(resource);
        if (!resource.IsFor(Broker))
            throw new KbsProtocolException($"resource URI '{resource}' names the broker {resource.Authority}, this client's broker is {Broker.Authority}");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Broker, $"kbs/v0/resource/{resource.Path}"));
        if (credential == KbsCredential.Bearer)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        else
            request.Headers.Add("Cookie", $"{CookieName}={session.Cookie}");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadBoundedAsync(response, "resource", cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw Refusal("resource", response.StatusCode, answer);
        return Open(answer, session.Key, resource);
    }

    /// <summary>Opens the broker's JWE with the session's key: a JWE that is malformed, not to this key, or modified
    /// anywhere (protected header, encrypted_key, iv, ciphertext, tag) is refused.</summary>
    internal static byte[] Open(byte[] jwe, JweDecryptionKey key, KbsResourceUri resource)
    {
        try
        {
            return JweJson.Decrypt(jwe, key);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new KbsProtocolException($"the broker's JWE for {resource.WithoutAuthority} is refused: {e.Message}", e);
        }
    }

    private async Task<(string Nonce, string Cookie)> AuthAsync(CancellationToken cancellationToken)
    {
        using var extra = JsonDocument.Parse("{}");
        var body = new KbsAuthRequest(KbsProtocolVersion.Current, evidence.Tee, extra.RootElement);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Broker, "kbs/v0/auth"))
        {
            Content = Json(JsonSerializer.SerializeToUtf8Bytes(body, KbsJsonContext.Default.KbsAuthRequest)),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadBoundedAsync(response, "auth", cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw Refusal("auth", response.StatusCode, answer);
        var challenge = Parse(answer, "auth", KbsJsonContext.Default.KbsChallenge);
        if (challenge.Nonce.Length == 0)
            throw new KbsProtocolException("the broker's challenge has an empty nonce");
        var cookie = SessionCookie(response)
            ?? throw new KbsProtocolException($"the broker's challenge set no {CookieName} cookie");
        return (challenge.Nonce, cookie);
    }

    private const string CookieName = Sessions.KbsSessionStore.CookieName;

    private static string? SessionCookie(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values))
            return null;
        foreach (var value in values)
        {
            var pair = value.Split(';', 2)[0].Trim();
            if (pair.StartsWith(CookieName + "=", StringComparison.Ordinal))
            {
                var id = pair[(CookieName.Length + 1)..];
                // A cookie value is sent back verbatim in a header: refuse anything that could break out of it.
                return id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? id : null;
            }
        }
        return null;
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, string step, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadBoundedAsync(response, step, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw Refusal(step, response.StatusCode, answer);
        return Parse(answer, step, type);
    }

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static T Parse<T>(byte[] answer, string step, JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(answer, type) ?? throw new KbsProtocolException($"the broker's {step} answer is null");
        }
        catch (JsonException e)
        {
            throw new KbsProtocolException($"the broker's {step} answer is not the protocol's JSON: {e.Message}", e);
        }
    }

    /// <summary>The broker's Trustee error (type name and detail); the bare status when the body is not one.</summary>
    internal static KbsRefusedException Refusal(string step, HttpStatusCode status, byte[] answer)
    {
        try
        {
            if (JsonSerializer.Deserialize(answer, KbsJsonContext.Default.KbsErrorBody) is { } error &&
                error.Type.StartsWith(KbsError.TypePrefix, StringComparison.Ordinal) && error.Type.Length > KbsError.TypePrefix.Length)
                return new KbsRefusedException(step, status, error.Type[KbsError.TypePrefix.Length..], error.Detail);
        }
        catch (JsonException)
        {
            // Not Trustee's shape: the status is all there is.
        }
        return new KbsRefusedException(step, status, $"HTTP {(int)status}", $"the broker answered {step} with {(int)status} {status} and no Trustee error body");
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, string step, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxAnswerBytes)
            throw new KbsProtocolException($"the broker's {step} answer of {response.Content.Headers.ContentLength} bytes is over {MaxAnswerBytes}");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxAnswerBytes)
                throw new KbsProtocolException($"the broker's {step} answer is over {MaxAnswerBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}

/// <summary>How a resource request proves its attestation.</summary>
public enum KbsCredential
{
    /// <summary>The <c>kbs-session-id</c> cookie of the attested session.</summary>
    Cookie,

    /// <summary><c>Authorization: Bearer</c> with the attestation token.</summary>
    Bearer,
}

/// <summary>One attested handshake: its session cookie, attestation token, and the tee key (disposed with it).</summary>
public sealed class KbsAttestedSession(string cookie, string token, JweDecryptionKey key) : IDisposable
{
    public string Cookie { get; } = cookie;
    public string Token { get; } = token;
    internal JweDecryptionKey Key { get; } = key;

    /// <summary>The tee key pair's private key (PKCS#8 PEM), which opens what the broker encrypts to this session.</summary>
    public string ExportTeeKeyPem() => Key.ExportPkcs8PrivateKeyPem();

    public void Dispose() => Key.Dispose();
}
