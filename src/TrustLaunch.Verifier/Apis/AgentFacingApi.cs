using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Images;
using TrustLaunch.Verifier.Push;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Apis;

/// <summary>
/// The agent-facing port (TLS): image attestation for remote-mode launches, push-mode challenges and evidence, and the
/// verifier's public key (<c>GET /v1/keys</c>: PEM, with the key id in <c>X-Key-Id</c>) for checking results and
/// notifications. Several instances share one store, each with its own key: <c>GET /v1/keys/{kid}</c> serves any of
/// their keys by the <c>kid</c> a token names, so a result signed by one instance checks out at any other.
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
        // The evidence is read by PushAttestation once caller and challenge check out: malformed evidence fails the agent.
        v1.MapPost("/agents/{id}/attestations/{challengeId}", async Task<Results<Ok<PushAttestationResult>, ProblemHttpResult>> (string id,
            string challengeId, HttpContext context, PushAttestation push, CancellationToken ct) =>
        {
            var (result, refusal) = await push.AttestAsync(id, challengeId, context.Request.Body, context.Connection.ClientCertificate, ct).ConfigureAwait(false);
            return result is null ? Problem(refusal!) : TypedResults.Ok(result);
        }).Accepts<QuoteEvidence>("application/json");
        v1.MapPost("/agents/{id}/attestations/{challengeId}/problem", async Task<Results<Ok<PushAttestationResult>, ProblemHttpResult>> (string id,
            string challengeId, AgentProblem problem, HttpContext context, PushAttestation push, CancellationToken ct) =>
        {
            var (result, refusal) = await push.ReportProblemAsync(id, challengeId, problem, context.Connection.ClientCertificate, ct).ConfigureAwait(false);
            return result is null ? Problem(refusal!) : TypedResults.Ok(result);
        });
        v1.MapGet("/keys", (HttpContext context, VerifierSigningKey key) =>
        {
            context.Response.Headers["X-Key-Id"] = key.KeyId;
            return TypedResults.Text(key.PublicKeyPem, "application/x-pem-file");
        });
        v1.MapGet("/keys/{kid}", GetKeyAsync);
    }

    /// <summary>This instance's key, or one another instance published on the store.</summary>
    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetKeyAsync(string kid, HttpContext context, VerifierSigningKey key,
        IVerifierStore store, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(store);
        var pem = kid == key.KeyId ? key.PublicKeyPem : await store.GetPublicKeyAsync(kid, ct).ConfigureAwait(false);
        if (pem is null)
            return TypedResults.Problem(title: "no such key", detail: $"no verifier instance published key '{kid}'", statusCode: StatusCodes.Status404NotFound);
        context.Response.Headers["X-Key-Id"] = kid;
        return TypedResults.Text(pem, "application/x-pem-file");
    }

    private static ProblemHttpResult Problem(PushRefusal refusal) =>
        TypedResults.Problem(title: refusal.Title, detail: refusal.Detail, statusCode: refusal.StatusCode);
}
