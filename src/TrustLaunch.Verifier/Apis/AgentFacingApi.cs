using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Images;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Apis;

/// <summary>
/// The agent-facing port (TLS): image attestation for remote-mode launches, and the verifier's public key
/// (<c>GET /v1/keys</c>: PEM, with the key id in <c>X-Key-Id</c>) for checking results and notifications.
/// </summary>
public static class AgentFacingApi
{
    public static void MapAgentFacingApi(this IEndpointRouteBuilder app, ServiceEndpoint endpoint)
    {
        var v1 = app.MapGroup("/v1").OnEndpoint(endpoint);
        v1.MapPost("/images/attest", async (ImageAttestationRequest request, HttpContext context, ImageAttestor attestor, CancellationToken ct) =>
            TypedResults.Ok(await attestor.DecideAsync(request, context.Connection.ClientCertificate, ct).ConfigureAwait(false)));
        v1.MapGet("/keys", (HttpContext context, VerifierSigningKey key) =>
        {
            context.Response.Headers["X-Key-Id"] = key.KeyId;
            return TypedResults.Text(key.PublicKeyPem, "application/x-pem-file");
        });
    }
}
