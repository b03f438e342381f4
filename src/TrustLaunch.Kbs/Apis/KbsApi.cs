using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Sessions;

namespace TrustLaunch.Kbs.Apis;

/// <summary>The Trustee KBS protocol endpoints (version 0.4.0): <c>/kbs/v0/auth</c> and <c>/kbs/v0/attest</c>.
/// Bodies are read by hand so that malformed JSON answers Trustee's error shape, not a problem document.</summary>
public static class KbsApi
{
    public static void MapKbsApi(this WebApplication app, ServiceEndpoint endpoint)
    {
        var group = app.MapGroup("/kbs/v0").OnEndpoint(endpoint);
        group.MapPost("/auth", async (HttpContext http, KbsSessionStore sessions) =>
        {
            try
            {
                var request = await ReadAsync(http, KbsJsonContext.Default.KbsAuthRequest).ConfigureAwait(false);
                if (request.Version != KbsProtocolVersion.Current)
                    throw KbsError.ProtocolVersion(request.Version);
                if (request.Tee != TpmAttestationVerifier.Tee)
                    throw KbsError.InvalidRequest($"tee '{request.Tee}' is not supported: this broker attests '{TpmAttestationVerifier.Tee}'");
                var session = sessions.Create(request.Tee);
                http.Response.Cookies.Append(KbsSessionStore.CookieName, session.Id.ToString("D"), new CookieOptions
                {
                    Expires = session.Expires,
                    HttpOnly = true,
                    Secure = true,
                    Path = "/kbs",
                });
                return Results.Json(new KbsChallenge(session.Nonce, ""), KbsJsonContext.Default.KbsChallenge);
            }
            catch (KbsError e)
            {
                return Error(e);
            }
        });
        group.MapPost("/attest", async (HttpContext http, KbsSessionStore sessions, TpmAttestationVerifier verifier, KbsOptions options, TimeProvider time,
            KbsMetrics metrics) =>
        {
            try
            {
                var session = sessions.Get(http.Request.Cookies[KbsSessionStore.CookieName]);
                var attestation = await ReadAsync(http, KbsJsonContext.Default.KbsAttestation).ConfigureAwait(false);
                KbsSessionStore.BeginAttestation(session);
                var (agentId, teeKey, container) = await verifier.VerifyAsync(session, attestation, http.RequestAborted).ConfigureAwait(false);
                var token = KbsToken.Create(options.TokenSigner, agentId, teeKey, time.GetUtcNow(), options.TokenLifetime, container);
                session.Attested = new KbsAttestedNode(agentId, teeKey, token) { Container = container };
                metrics.Attested();
                return Results.Json(new KbsAttestationToken(token), KbsJsonContext.Default.KbsAttestationToken);
            }
            catch (KbsError e)
            {
                metrics.Refused(e.Name);
                return Error(e);
            }
        });
    }

    internal static IResult Error(KbsError e) => Results.Json(e.ToBody(), KbsJsonContext.Default.KbsErrorBody, statusCode: e.Status);

    private static async Task<T> ReadAsync<T>(HttpContext http, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(http.Request.Body, type, http.RequestAborted).ConfigureAwait(false)
                ?? throw KbsError.InvalidRequest("the body is null");
        }
        catch (JsonException e)
        {
            throw KbsError.InvalidRequest($"the body is not a valid request: {e.Message}");
        }
    }
}
