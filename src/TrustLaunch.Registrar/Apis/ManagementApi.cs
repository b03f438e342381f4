using System.Buffers.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Registrar.Storage;

namespace TrustLaunch.Registrar.Apis;

/// <summary>The management port (mutual TLS; tenant and verifier certificates): list, get, delete registrations. The
/// key broker (kbs certificate) may only look an active registration up by its AK.</summary>
public static class ManagementApi
{
    public static RouteGroupBuilder MapManagementApi(this IEndpointRouteBuilder routes, ServiceEndpoint endpoint)
    {
        var group = routes.MapGroup("/v1/agents").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant, ServiceRoles.Verifier);
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        routes.MapGroup("/v1/agents/by-ak").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant, ServiceRoles.Verifier, ServiceRoles.Kbs)
            .MapGet("/{ak}", FindByAkAsync);
        return group;
    }

    private static async Task<Ok<IReadOnlyList<RegisteredAgent>>> ListAsync(IRegistrarStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(cancellationToken).ConfigureAwait(false));

    private static async Task<Results<Ok<RegisteredAgent>, ProblemHttpResult>> GetAsync(string id, IRegistrarStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } record
            ? TypedResults.Ok(record.Agent)
            : NotRegistered(id);

    /// <summary>The active registrations whose AK is <paramref name="ak"/> (base64url of its TPM2B_PUBLIC), at most
    /// two (more than one is ambiguous: the caller refuses); pending registrations are not found: their AK is not
    /// proven yet.</summary>
    private static async Task<Results<Ok<IReadOnlyList<RegisteredAgent>>, ProblemHttpResult>> FindByAkAsync(string ak, IRegistrarStore store, CancellationToken cancellationToken)
    {
        byte[] akPublic;
        try
        {
            akPublic = Base64Url.DecodeFromChars(ak);
        }
        catch (FormatException)
        {
            return TypedResults.Problem(title: "bad AK", detail: "the AK is not base64url", statusCode: StatusCodes.Status400BadRequest);
        }
        return TypedResults.Ok(await store.FindActiveByAkAsync(akPublic, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, IRegistrarStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : NotRegistered(id);

    private static ProblemHttpResult NotRegistered(string id) =>
        TypedResults.Problem(title: "unknown agent", detail: $"agent {id} is not registered", statusCode: StatusCodes.Status404NotFound);
}
