using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Registrar.Storage;

namespace TrustLaunch.Registrar.Apis;

/// <summary>The management port (mutual TLS; tenant and verifier certificates): list, get, delete registrations.</summary>
public static class ManagementApi
{
    public static RouteGroupBuilder MapManagementApi(this IEndpointRouteBuilder routes, ServiceEndpoint endpoint)
    {
        var group = routes.MapGroup("/v1/agents").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant, ServiceRoles.Verifier);
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        return group;
    }

    private static async Task<Ok<IReadOnlyList<RegisteredAgent>>> ListAsync(IRegistrarStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(cancellationToken).ConfigureAwait(false));

    private static async Task<Results<Ok<RegisteredAgent>, ProblemHttpResult>> GetAsync(string id, IRegistrarStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } record
            ? TypedResults.Ok(record.Agent)
            : NotRegistered(id);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, IRegistrarStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : NotRegistered(id);

    private static ProblemHttpResult NotRegistered(string id) =>
        TypedResults.Problem(title: "unknown agent", detail: $"agent {id} is not registered", statusCode: StatusCodes.Status404NotFound);
}
