using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Kbs.Sessions;

namespace TrustLaunch.Kbs.Apis;

/// <summary>
/// <c>GET /kbs/v0/resource/{repository}/{type}/{tag}</c>: for an attested session (cookie) or a token of this broker
/// (<c>Authorization: Bearer</c>), once the verifier still holds the node Attested and the resource policy allows
/// it (for a container's handshake, <see cref="Protocol.ContainerEvidence"/>, with that container's image), the
/// resource as a flattened JWE to the tee-pubkey the attestation bound. Refusals in order: 401
/// unauthenticated, 401 AttestationFailed (no longer Attested), 403 PolicyDeny, 404 ResourceNotFound.
/// </summary>
public static class ResourceApi
{
    private const string BearerPrefix = "Bearer ";

    public static void MapResourceApi(this WebApplication app, ServiceEndpoint endpoint)
    {
        app.MapGet("/kbs/v0/resource/{repository}/{type}/{tag}", async (string repository, string type, string tag, HttpContext http,
            KbsSessionStore sessions, KbsOptions options, TimeProvider time, NodeStanding standing, ResourcePolicyHolder policy,
            ResourceStore store, KbsMetrics metrics) =>
        {
            try
            {
                var (agentId, teeKey, container) = Authenticate(http, sessions, options, time);
                ResourcePath path;
                try
                {
                    path = ResourcePath.Create(repository, type, tag);
                }
                catch (FormatException e)
                {
                    throw KbsError.InvalidRequest(e.Message);
                }
                var node = await standing.RequireAttestedAsync(agentId, http.RequestAborted).ConfigureAwait(false);
                var current = await ReadStoreAsync(() => policy.CurrentAsync(http.RequestAborted)).ConfigureAwait(false);
                if (current.Refusal(path, node, container) is { } refusal)
                    throw KbsError.PolicyDeny(refusal);
                var sealedResource = await ReadStoreAsync(() => store.GetAsync(path, http.RequestAborted)).ConfigureAwait(false)
                    ?? throw KbsError.ResourceNotFound(path.ToString());
                byte[] plaintext;
                try
                {
                    plaintext = sealedResource.Open(path, options.KeyWrapper);
                }
                catch (CryptographicException e)
                {
                    throw KbsError.Internal($"resource {path} cannot be opened: {e.Message}");
                }
                try
                {
                    var jwe = JweJson.EncryptFlattened(plaintext, teeKey);
                    metrics.Released(path.Repository);
                    return Results.Text(jwe, "application/json", Encoding.UTF8);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                }
            }
            catch (KbsError e)
            {
                metrics.Refused(e.Name);
                return KbsApi.Error(e);
            }
        }).OnEndpoint(endpoint);
    }

    private static (string AgentId, Jwk TeeKey, ContainerEvidence? Container) Authenticate(HttpContext http, KbsSessionStore sessions, KbsOptions options, TimeProvider time)
    {
        var authorization = http.Request.Headers[HeaderNames.Authorization].ToString();
        if (authorization.Length > 0)
        {
            if (!authorization.StartsWith(BearerPrefix, StringComparison.Ordinal))
                throw KbsError.InvalidToken("the Authorization header is not 'Bearer <token>'");
            return KbsToken.Verify(authorization[BearerPrefix.Length..].Trim(), options.TokenVerifier, time.GetUtcNow());
        }
        var cookie = http.Request.Cookies[KbsSessionStore.CookieName];
        if (string.IsNullOrEmpty(cookie))
            throw KbsError.TokenNotFound();
        var attested = sessions.Get(cookie).Attested ?? throw KbsError.UnauthenticatedCookie();
        return (attested.AgentId, attested.TeePublicKey, attested.Container);
    }

    /// <summary>A store that cannot answer refuses the request (503).</summary>
    private static async Task<T> ReadStoreAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or System.Data.Common.DbException or FormatException)
        {
            throw KbsError.Unavailable($"the resource store could not be read: {e.Message}");
        }
    }
}
