using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Registrar.Registration;

namespace TrustLaunch.Registrar.Apis;

/// <summary>The agent port (TLS, no client certificate: an agent proves itself with its TPM, not a certificate).</summary>
public static class AgentRegistrationApi
{
    public static RouteGroupBuilder MapAgentRegistrationApi(this IEndpointRouteBuilder routes, ServiceEndpoint endpoint)
    {
        var group = routes.MapGroup("/v1/agents").OnEndpoint(endpoint);
        group.MapPost("/{id}", RegisterAsync);
        group.MapPost("/{id}/activate", ActivateAsync);
        return group;
    }

    private static async Task<Results<Ok<CredentialChallenge>, ProblemHttpResult>> RegisterAsync(
        string id, AgentRegistration registration, RegistrationService registrations, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await registrations.RegisterAsync(id, registration, cancellationToken).ConfigureAwait(false));
        }
        catch (RegistrationRefusedException e)
        {
            return Problem(e);
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ActivateAsync(
        string id, ActivationProof proof, RegistrationService registrations, CancellationToken cancellationToken)
    {
        try
        {
            await registrations.ActivateAsync(id, proof, cancellationToken).ConfigureAwait(false);
            return TypedResults.NoContent();
        }
        catch (RegistrationRefusedException e)
        {
            return Problem(e);
        }
    }

    internal static ProblemHttpResult Problem(RegistrationRefusedException e) =>
        TypedResults.Problem(title: e.Title, detail: e.Detail, statusCode: e.StatusCode);
}
