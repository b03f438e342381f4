using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Apis;

/// <summary>
/// The local API of the launcher on the agent's unix socket: <c>POST /v1/measure</c>, <c>GET /v1/log</c>, the
/// node daemon's container endpoints (<see cref="LauncherApi"/>) and the key broker's resources
/// (<see cref="KbsResourceApi"/>) and sealed secrets (<see cref="SecretApi"/>). The
/// routes answer only on the socket (file mode 0600, so only the agent's user can connect); on TCP they are 404.
/// </summary>
public static class LocalApi
{
    public static RouteGroupBuilder MapLocalApi(this WebApplication app)
    {
        var group = app.MapGroup("/v1").OnUnixSocket();
        group.MapPost("/measure", MeasureAsync);
        group.MapGet("/log", GetLog);
        group.MapLauncherApi();
        group.MapKbsResourceApi();
        group.MapSecretApi();
        return group;
    }

    private static async Task<Results<JsonHttpResult<MeasuredEvent>, ProblemHttpResult>> MeasureAsync(
        MeasureRequest? request, AgentRuntime agent, CancellationToken cancellationToken)
    {
        if (MeasureRequestCheck.Validate(request) is { } error)
            return TypedResults.Problem(title: "bad measure request", detail: error, statusCode: StatusCodes.Status400BadRequest);
        try
        {
            return TypedResults.Json(await agent.Log.MeasureAsync(request!.Operation, request.Content, request.GoldenValue, cancellationToken).ConfigureAwait(false), ContractsJsonContext.Default.MeasuredEvent);
        }
        catch (FormatException e)
        {
            return TypedResults.Problem(title: "bad measure request", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (LaunchLogNotReadyException e)
        {
            return TypedResults.Problem(title: "launch log and PCR not reconciled", detail: e.Message, statusCode: StatusCodes.Status503ServiceUnavailable,
                type: ProblemTypes.LogPcrDisagree);
        }
    }

    private static Results<JsonHttpResult<IReadOnlyList<CelRecord>>, ProblemHttpResult> GetLog(long? since, AgentRuntime agent) =>
        since is < 0
            ? TypedResults.Problem(title: "bad log request", detail: $"since must be 0 or more, got {since}", statusCode: StatusCodes.Status400BadRequest)
            : TypedResults.Json(agent.Log.ReadFrom(since ?? 0), ContractsJsonContext.Default.IReadOnlyListCelRecord);
}
