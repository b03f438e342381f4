using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TrustLaunch.Agent.Apis;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Agent.Gateway;

/// <summary>
/// CoCo api-server-rest's routes, for the container the connection came from (<see cref="IWorkloadConnectionFeature"/>):
/// <c>GET /cdh/resource/REPOSITORY/TYPE/TAG</c> (the bytes), <c>GET /aa/token?token_type=kbs</c>
/// (<c>{"token","tee_keypair"}</c>), <c>GET /aa/evidence?runtime_data=…</c> (<see cref="WorkloadServices.EvidenceAsync"/>),
/// <c>GET /info</c>, <c>POST /aa/aael {"domain","operation","content"}</c> (a <c>WorkloadEvent</c>). Refusals are
/// problem documents: 403 <see cref="GatewayProblemTypes.Refused"/> (the request itself), the broker's as for the
/// agent's <c>POST /v1/kbs/resource</c> (403 with the broker's reason, 502, 503).
/// </summary>
public static class GatewayApi
{
    /// <summary>The largest request body the gateway reads (Kestrel's limit too, for bodies without a length).</summary>
    public const int MaxRequestBytes = 64 * 1024;

    public static string BodyTooLarge(long? length) =>
        $"the request body is {(length is { } bytes ? $"{bytes} bytes" : "longer than that")}: the workload gateway reads at most {MaxRequestBytes} bytes";

    public static void MapGatewayApi(this WebApplication app)
    {
        app.MapGet("/cdh/resource/{repository}/{type}/{tag}", (string repository, string type, string tag, HttpContext http, WorkloadServices services) =>
            Bytes(http, caller => services.ResourceAsync(caller, $"kbs:///{repository}/{type}/{tag}", http.RequestAborted)));
        app.MapGet("/aa/token", (HttpContext http, WorkloadServices services) => Bytes(http, async caller =>
        {
            var type = http.Request.Query["token_type"].ToString();
            if (type != "kbs")
                throw new WorkloadRequestRefusedException($"token_type '{type}' is not supported: only 'kbs'");
            return (await services.TokenAsync(caller, http.RequestAborted).ConfigureAwait(false)).ToJson();
        }, "application/json"));
        app.MapGet("/aa/evidence", (HttpContext http, WorkloadServices services) =>
            Bytes(http, caller => services.EvidenceAsync(caller, http.Request.Query["runtime_data"].ToString(), http.RequestAborted), "application/json"));
        app.MapGet("/info", Info);
        app.MapPost("/aa/aael", (HttpContext http, WorkloadServices services) => Bytes(http, async caller =>
        {
            AaelRequest? request;
            try
            {
                request = await JsonSerializer.DeserializeAsync(http.Request.Body, GatewayJsonContext.Default.AaelRequest, http.RequestAborted).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                throw new WorkloadRequestRefusedException($"the body is not {{\"domain\",\"operation\",\"content\"}}: {e.Message}");
            }
            if (request is null)
                throw new WorkloadRequestRefusedException("the body is not {\"domain\",\"operation\",\"content\"}: it is null");
            await services.MeasureAsync(caller, request.Domain, request.Operation, request.Content, http.RequestAborted).ConfigureAwait(false);
            return [];
        }));
    }

    private static readonly IReadOnlyList<string> Routes =
        ["GET /cdh/resource/{repository}/{type}/{tag}", "GET /aa/token?token_type=kbs", "GET /aa/evidence?runtime_data=…", "GET /info", "POST /aa/aael"];

    private static Task Info(HttpContext http) => Bytes(http, caller => Task.FromResult(JsonSerializer.SerializeToUtf8Bytes(
        new GatewayInfo(caller.Container, caller.Image, caller.ImageDigest, Routes), GatewayJsonContext.Default.GatewayInfo)), "application/json");

    /// <summary>The caller is the connection's container; a connection without one is refused, never answered as the node.</summary>
    private static Task Bytes(HttpContext http, Func<WorkloadIdentity, Task<byte[]>> answer, string? contentType = null)
    {
        var broker = http.RequestServices.GetService<NodeKeyBroker>();
        return KbsResourceApi.RespondWithBytesAsync(http, async () =>
        {
            var caller = http.Features.Get<IWorkloadConnectionFeature>()?.Workload;
            if (caller is null || caller.IsNode)
                throw new WorkloadRequestRefusedException("this connection came from no container: the workload gateway answers only inside a container");
            if (http.Request.ContentLength > MaxRequestBytes)
                throw new RequestBodyTooLargeException(BodyTooLarge(http.Request.ContentLength));
            return await answer(caller).ConfigureAwait(false);
        }, e => Problem(e, broker), contentType);
    }

    /// <summary>The problem a refused workload request answers with; null for any other exception.</summary>
    internal static IResult? Problem(Exception e, NodeKeyBroker? broker) => e switch
    {
        WorkloadRequestRefusedException => TypedResults.Problem(title: "workload request refused", detail: e.Message, statusCode: StatusCodes.Status403Forbidden,
            type: GatewayProblemTypes.Refused),
        RequestBodyTooLargeException => TypedResults.Problem(title: "workload request refused", detail: e.Message, statusCode: StatusCodes.Status413PayloadTooLarge,
            type: GatewayProblemTypes.Refused),
        // Kestrel's own limit, for a body sent without Content-Length.
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TypedResults.Problem(title: "workload request refused",
            detail: BodyTooLarge(null), statusCode: StatusCodes.Status413PayloadTooLarge, type: GatewayProblemTypes.Refused),
        SealedSecretException => TypedResults.Problem(title: "sealed secret refused", detail: e.Message, statusCode: StatusCodes.Status403Forbidden,
            type: SecretProblemTypes.Refused),
        _ => KbsResourceApi.Problem(e, broker),
    };
}

/// <summary>The problem types of the workload gateway beside the broker's.</summary>
public static class GatewayProblemTypes
{
    public const string Refused = "urn:trustlaunch:problem:workload-request-refused";
}

/// <summary>A request body over <see cref="GatewayApi.MaxRequestBytes"/>.</summary>
public sealed class RequestBodyTooLargeException(string message) : Exception(message);

/// <summary>The problem document of a refusal written before Kestrel has the connection (<see cref="GatewayTransport"/>).</summary>
public sealed record GatewayRefusal(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("type")] string Type);

/// <summary>CoCo's AAEL request: an event the container appends.</summary>
public sealed record AaelRequest(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("operation")] string Operation,
    [property: JsonPropertyName("content")] string Content);

/// <summary><c>GET /info</c>: who the gateway answers for, and its routes.</summary>
public sealed record GatewayInfo(
    [property: JsonPropertyName("container")] string Container,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("image_digest")] string ImageDigest,
    [property: JsonPropertyName("apis")] IReadOnlyList<string> Apis);

[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(AaelRequest))]
[JsonSerializable(typeof(GatewayInfo))]
[JsonSerializable(typeof(GatewayRefusal))]
[JsonSerializable(typeof(WorkloadToken))]
public sealed partial class GatewayJsonContext : JsonSerializerContext;
