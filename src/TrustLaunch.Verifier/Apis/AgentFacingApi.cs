using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Images;
using TrustLaunch.Verifier.Push;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Apis;

/// <summary>
/// The agent-facing port (TLS): image attestation for remote-mode launches, push-mode challenges and evidence, and the
/// verifier's public key (<c>GET /v1/keys</c>: PEM, with the key id in <c>X-Key-Id</c>) for checking results and
/// notifications.
/// </summary>
public static class AgentFacingApi
{
    public static void MapAgentFacingApi(this IEndpointRouteBuilder app, ServiceEndpoint endpoint)
    {
        var v1 = app.MapGroup("/v1").OnEndpoint(endpoint);
        v1.MapPost("/images/attest", async (ImageAttestationRequest request, HttpContext context, ImageAttestor attestor, CancellationToken ct) =>
            TypedResults.Ok(await attestor.DecideAsync(request, context.Connection.ClientCertificate, ct).ConfigureAwait(false)));
        v1.MapPost("/agents/{id}/attestations", async Task<Results<Created<AttestationChallenge>, ProblemHttpResult>> (string id, HttpContext context,
            PushAttestation push, CancellationToken ct) =>
        {
            var (challenge, refusal) = await push.ChallengeAsync(id, context.Connection.ClientCertificate, ct).ConfigureAwait(false);
            return challenge is null
                ? Problem(refusal!)
                : TypedResults.Created($"/v1/agents/{Uri.EscapeDataString(id)}/attestations/{challenge.ChallengeId}", challenge);
        });
        v1.MapPost("/agents/{id}/attestations/{challengeId}", async Task<Results<Ok<PushAttestationResult>, ProblemHttpResult>> (string id,
            string challengeId, QuoteEvidence evidence, HttpContext context, PushAttestation push, CancellationToken ct) =>
        {
            var (result, refusal) = await push.AttestAsync(id, challengeId, evidence, context.Connection.ClientCertificate, ct).ConfigureAwait(false);
            return result is null ? Problem(refusal!) : TypedResults.Ok(result);
        });
        v1.MapGet("/keys", (HttpContext context, VerifierSigningKey key) =>
        {
            context.Response.Headers["X-Key-Id"] = key.KeyId;
            return TypedResults.Text(key.PublicKeyPem, "application/x-pem-file");
        });
    }

    private static ProblemHttpResult Problem(PushRefusal refusal) =>
        TypedResults.Problem(title: refusal.Title, detail: refusal.Detail, statusCode: refusal.StatusCode);
}
