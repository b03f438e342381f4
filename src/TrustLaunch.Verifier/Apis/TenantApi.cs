using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Apis;

/// <summary>
/// The tenant API (mutual TLS, tenant certificates; the key broker's may read an agent and its appraisal): agents under attestation, policies, results, the verifier
/// instances sharing the store, their public keys by key id (as on the agent-facing port), and the webhook outbox.
/// </summary>
public static class TenantApi
{
    public const int DefaultResults = 20;
    public const int MaxResults = 1000;

    public static void MapTenantApi(this IEndpointRouteBuilder app, ServiceEndpoint endpoint)
    {
        var v1 = app.MapGroup("/v1").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant);
        v1.MapPost("/agents", AddAgentAsync);
        v1.MapGet("/agents", async Task<Results<Ok<IReadOnlyList<AgentStatus>>, ProblemHttpResult>> (string? state, IVerifierStore store, CancellationToken ct) =>
        {
            if (state is not null && !AgentStates.All.Contains(state, StringComparer.Ordinal))
                return TypedResults.Problem(detail: $"state must be one of {string.Join(", ", AgentStates.All)}, not '{state}'", statusCode: StatusCodes.Status400BadRequest);
            var agents = await store.ListAgentsAsync(ct).ConfigureAwait(false);
            return TypedResults.Ok<IReadOnlyList<AgentStatus>>([.. agents.Where(a => state is null || a.State == state).Select(a => a.ToStatus())]);
        });
        // The key broker (kbs) reads an agent's state and appraisal, and nothing else.
        var read = app.MapGroup("/v1/agents").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.Tenant, ServiceRoles.Kbs);
        read.MapGet("/{id}", async Task<Results<Ok<AgentStatus>, ProblemHttpResult>> (string id, IVerifierStore store, CancellationToken ct) =>
            await store.GetAgentAsync(id, ct).ConfigureAwait(false) is { } agent ? TypedResults.Ok(agent.ToStatus()) : NoSuchAgent(id));
        read.MapGet("/{id}/appraisal", async Task<Results<Ok<AgentAppraisal>, ProblemHttpResult>> (string id, IVerifierStore store, CancellationToken ct) =>
        {
            if (await store.GetAgentAsync(id, ct).ConfigureAwait(false) is not { } agent)
                return NoSuchAgent(id);
            // A policy version that cannot be read confines nothing: rules that require namespaces then deny.
            var policy = await store.GetPolicyAsync(agent.PolicyName, agent.PolicyVersion, ct).ConfigureAwait(false);
            return TypedResults.Ok(agent.ToAppraisal(policy?.Policy.AllowedNamespaces ?? []));
        });
        v1.MapDelete("/agents/{id}", async Task<Results<NoContent, ProblemHttpResult>> (string id, IVerifierStore store, AgentConnections connections,
            VerifierMetrics metrics, CancellationToken ct) =>
        {
            if (!await store.RemoveAgentAsync(id, ct).ConfigureAwait(false))
                return NoSuchAgent(id);
            connections.Forget(id);
            metrics.Forget(id);
            return TypedResults.NoContent();
        });
        v1.MapPut("/agents/{id}/policy", UpdatePolicyAsync);
        v1.MapPost("/agents/{id}/pause", (string id, IVerifierStore store, CancellationToken ct) => PauseAsync(id, true, store, ct));
        v1.MapPost("/agents/{id}/resume", async (string id, IVerifierStore store, VerifierOptions options, TimeProvider time, CancellationToken ct) =>
        {
            // A resumed push-mode agent gets a fresh deadline first, so an old one cannot make it Unreachable at once.
            await store.SetPushDeadlineAsync(id, options.FirstPushDeadline(time.GetUtcNow()), ct).ConfigureAwait(false);
            return await PauseAsync(id, false, store, ct).ConfigureAwait(false);
        });
        v1.MapGet("/agents/{id}/results", async Task<Results<Ok<IReadOnlyList<AttestationResultRecord>>, ProblemHttpResult>> (
            string id, int? last, IVerifierStore store, CancellationToken ct) =>
        {
            if (last is < 1 or > MaxResults)
                return TypedResults.Problem(detail: $"last must be 1 to {MaxResults}", statusCode: StatusCodes.Status400BadRequest);
            if (await store.GetAgentAsync(id, ct).ConfigureAwait(false) is null)
                return NoSuchAgent(id);
            return TypedResults.Ok(await store.GetResultsAsync(id, last ?? DefaultResults, ct).ConfigureAwait(false));
        });

        v1.MapGet("/instances", async (IVerifierStore store, TimeProvider time, CancellationToken ct) =>
            TypedResults.Ok(await store.ListInstancesAsync(time.GetUtcNow(), ct).ConfigureAwait(false)));
        v1.MapGet("/keys/{kid}", AgentFacingApi.GetKeyAsync);
        v1.MapGet("/outbox", async Task<Results<Ok<IReadOnlyList<OutboxEntryStatus>>, ProblemHttpResult>> (int? limit, IVerifierStore store, CancellationToken ct) =>
            limit is < 1 or > MaxResults
                ? TypedResults.Problem(detail: $"limit must be 1 to {MaxResults}", statusCode: StatusCodes.Status400BadRequest)
                : TypedResults.Ok(await store.ListOutboxAsync(limit ?? MaxResults, ct).ConfigureAwait(false)));

        v1.MapPost("/policies", async Task<Results<Created<StoredPolicy>, ProblemHttpResult>> (PolicyDocument policy, IVerifierStore store,
            TimeProvider time, CancellationToken ct) =>
        {
            if (PolicyValidation.FindProblem(policy) is { } problem)
                return TypedResults.Problem(title: "invalid policy", detail: problem, statusCode: StatusCodes.Status400BadRequest);
            var stored = await store.AddPolicyAsync(policy, time.GetUtcNow(), ct).ConfigureAwait(false);
            return TypedResults.Created($"/v1/policies/{Uri.EscapeDataString(policy.Name)}?version={stored.Version}", stored);
        });
        v1.MapGet("/policies", async (IVerifierStore store, CancellationToken ct) => TypedResults.Ok(await store.ListPoliciesAsync(ct).ConfigureAwait(false)));
        v1.MapGet("/policies/{name}", async Task<Results<Ok<StoredPolicy>, ProblemHttpResult>> (string name, int? version, IVerifierStore store, CancellationToken ct) =>
            await store.GetPolicyAsync(name, version, ct).ConfigureAwait(false) is { } policy
                ? TypedResults.Ok(policy)
                : TypedResults.Problem(title: "no such policy",
                    detail: version is null ? $"policy '{name}' does not exist" : $"policy '{name}' has no version {version}", statusCode: StatusCodes.Status404NotFound));
        v1.MapDelete("/policies/{name}", async Task<Results<NoContent, ProblemHttpResult>> (string name, IVerifierStore store, CancellationToken ct) =>
            await store.RemovePolicyAsync(name, ct).ConfigureAwait(false) switch
            {
                PolicyRemoval.Removed => TypedResults.NoContent(),
                PolicyRemoval.InUse => TypedResults.Problem(title: "policy in use", detail: $"policy '{name}' is still used by agents", statusCode: StatusCodes.Status409Conflict),
                _ => TypedResults.Problem(title: "no such policy", detail: $"policy '{name}' does not exist", statusCode: StatusCodes.Status404NotFound),
            });
    }

    private static async Task<Results<Created<AgentStatus>, ProblemHttpResult>> AddAgentAsync(AddAgentRequest request, IVerifierStore store,
        AgentConnections connections, VerifierOptions options, TimeProvider time, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.AgentId) || string.IsNullOrWhiteSpace(request.Policy))
            return TypedResults.Problem(detail: "agent_id and policy are required", statusCode: StatusCodes.Status400BadRequest);
        if (request.Mode is not (null or AttestationModes.Pull or AttestationModes.Push))
        {
            return TypedResults.Problem(detail: $"mode must be '{AttestationModes.Pull}' or '{AttestationModes.Push}', not '{request.Mode}'",
                statusCode: StatusCodes.Status400BadRequest);
        }
        var push = request.Mode == AttestationModes.Push;
        if (push && request.Address is not null)
            return TypedResults.Problem(detail: "a push-mode agent has no address: it calls the verifier", statusCode: StatusCodes.Status400BadRequest);
        var policy = await store.GetPolicyAsync(request.Policy, null, ct).ConfigureAwait(false);
        if (policy is null)
            return TypedResults.Problem(title: "no such policy", detail: $"policy '{request.Policy}' does not exist", statusCode: StatusCodes.Status404NotFound);
        RegisteredAgent? registration;
        try
        {
            registration = await connections.LookupAsync(request.AgentId, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return TypedResults.Problem(title: "registrar unreachable", detail: e.Message, statusCode: StatusCodes.Status502BadGateway);
        }
        if (registration is null)
            return TypedResults.Problem(title: "no such agent", detail: $"agent '{request.AgentId}' is not registered at the registrar", statusCode: StatusCodes.Status404NotFound);
        var address = push ? "" : request.Address ?? registration.Address;
        if (!push && string.IsNullOrEmpty(address))
            return TypedResults.Problem(detail: $"agent '{request.AgentId}' registered no address: give one", statusCode: StatusCodes.Status400BadRequest);
        var agent = AgentRecord.New(request.AgentId, address!, policy.Policy.Name, policy.Version) with
        {
            Mode = push ? AttestationModes.Push : AttestationModes.Pull,
            PushDeadline = push ? options.FirstPushDeadline(time.GetUtcNow()) : null,
        };
        if (!await store.AddAgentAsync(agent, ct).ConfigureAwait(false))
            return TypedResults.Problem(title: "agent exists", detail: $"agent '{request.AgentId}' is already under attestation", statusCode: StatusCodes.Status409Conflict);
        return TypedResults.Created($"/v1/agents/{Uri.EscapeDataString(agent.AgentId)}", agent.ToStatus());
    }

    private static async Task<Results<Ok<AgentStatus>, ProblemHttpResult>> UpdatePolicyAsync(string id, AgentPolicyUpdate update, IVerifierStore store,
        VerifierOptions options, TimeProvider time, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(update.Policy))
            return TypedResults.Problem(detail: "policy is required", statusCode: StatusCodes.Status400BadRequest);
        if (await store.GetAgentAsync(id, ct).ConfigureAwait(false) is not { } agent)
            return NoSuchAgent(id);
        // Its own policy's new versions reach an agent by themselves; resume re-appraises a Failed one.
        if (agent.PolicyName == update.Policy)
            return TypedResults.Problem(title: "same policy", detail: $"agent '{id}' is already held to policy '{update.Policy}'", statusCode: StatusCodes.Status409Conflict);
        if (await store.GetPolicyAsync(update.Policy, null, ct).ConfigureAwait(false) is not { } policy)
            return TypedResults.Problem(title: "no such policy", detail: $"policy '{update.Policy}' does not exist", statusCode: StatusCodes.Status404NotFound);
        return await store.ChangePolicyAsync(id, policy, options.FirstPushDeadline(time.GetUtcNow()), ct).ConfigureAwait(false) is { } updated
            ? TypedResults.Ok(updated.ToStatus())
            : NoSuchAgent(id);
    }

    private static async Task<Results<Ok<AgentStatus>, ProblemHttpResult>> PauseAsync(string id, bool pause, IVerifierStore store, CancellationToken ct) =>
        await store.SetPausedAsync(id, pause, ct).ConfigureAwait(false) is { } agent ? TypedResults.Ok(agent.ToStatus()) : NoSuchAgent(id);

    private static ProblemHttpResult NoSuchAgent(string id) =>
        TypedResults.Problem(title: "no such agent", detail: $"agent '{id}' is not under attestation", statusCode: StatusCodes.Status404NotFound);
}
