using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Agent.Apis;

/// <summary>
/// The mutual-TLS attestation API: <c>GET /v1/quote</c> and <c>GET /v1/info</c>, for verifiers and tenants. Bodies are
/// written with <see cref="ContractsJsonContext"/>'s own (snake_case) options, whatever the host's JSON defaults are.
/// </summary>
public static class AttestationApi
{
    public static RouteGroupBuilder MapAttestationApi(this WebApplication app, ServiceEndpoint endpoint)
    {
        var group = app.MapGroup("/v1").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Verifier, ServiceRoles.Tenant);
        group.MapGet("/quote", GetQuoteAsync);
        group.MapGet("/info", GetInfo);
        return group;
    }

    private static async Task<Results<JsonHttpResult<QuoteEvidence>, ProblemHttpResult>> GetQuoteAsync(
        string? nonce, string? pcrs, string? since, AgentRuntime agent, CancellationToken cancellationToken)
    {
        var (query, error) = QuoteQuery.Parse(nonce, pcrs, since, agent.Log.Pcr);
        if (query is null)
            return TypedResults.Problem(title: "bad quote request", detail: error, statusCode: StatusCodes.Status400BadRequest);
        try
        {
            return TypedResults.Json(await agent.Log.QuoteAsync(agent.Tpm.Keys, agent.Options.AgentId, query, cancellationToken).ConfigureAwait(false), ContractsJsonContext.Default.QuoteEvidence);
        }
        catch (LaunchLogNotReadyException e)
        {
            return TypedResults.Problem(title: "launch log and PCR not reconciled", detail: e.Message, statusCode: StatusCodes.Status503ServiceUnavailable,
                type: ProblemTypes.LogPcrDisagree);
        }
    }

    private static JsonHttpResult<AgentInfo> GetInfo(AgentRuntime agent) => TypedResults.Json(agent.Info, ContractsJsonContext.Default.AgentInfo);
}
