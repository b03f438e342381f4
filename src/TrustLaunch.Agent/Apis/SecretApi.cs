using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Agent.Apis;

/// <summary>
/// <c>POST /v1/secret/unseal {"name":"NAME","sealed":"sealed.…"}</c> on the agent's unix socket (root's only): the
/// secret's value (application/octet-stream) once <see cref="NodeSecrets"/> verified, fetched and measured it.
/// Problems: 400 a body that is not the request, 403 <see cref="SecretProblemTypes.Refused"/> a sealed secret refused
/// (the exact reason), 409 no <c>--kbs</c> or no <c>--secret-trust</c>; the broker's problems as for
/// <c>POST /v1/kbs/resource</c> (403 <see cref="KbsProblemTypes.Refused"/> with the broker's reason, 502, 503).
/// </summary>
public static class SecretApi
{
    /// <summary>A sealed secret at its largest plus the name and JSON around it.</summary>
    public const int MaxRequestBytes = SealedSecret.MaxLength + 1024;

    public static void MapSecretApi(this RouteGroupBuilder group) => group.MapPost("/secret/unseal", UnsealAsync);

    // Not a bare RequestDelegate (see KbsResourceApi.FetchAsync), so /openapi.json describes it.
    private static Task UnsealAsync(HttpContext context, [FromServices] NodeKeyBroker? broker, [FromServices] NodeSecrets? secrets) =>
        KbsResourceApi.RespondWithBytesAsync(context, () => UnsealCoreAsync(context, broker, secrets), e => Problem(e, broker));

    private static async Task<byte[]> UnsealCoreAsync(HttpContext context, NodeKeyBroker? broker, NodeSecrets? secrets)
    {
        if (context.Request.ContentLength > MaxRequestBytes)
            throw new JsonException($"the body is over {MaxRequestBytes} bytes");
        var request = await JsonSerializer.DeserializeAsync(context.Request.Body, SecretJsonContext.Default.SecretUnsealRequest, context.RequestAborted)
            .ConfigureAwait(false) ?? throw new JsonException("the body is null");
        if (broker is null)
            throw new InvalidOperationException(NodeSecrets.NotConfiguredReason(hasBroker: false));
        if (secrets is null)
            throw new NoSecretTrustException();
        return await secrets.UnsealAsync(request.Name, request.Sealed, context.RequestAborted).ConfigureAwait(false);
    }

    private static IResult? Problem(Exception e, NodeKeyBroker? broker) => e switch
    {
        JsonException => TypedResults.Problem(title: "bad secret unseal request", detail: $"the body is not {{\"name\":\"NAME\",\"sealed\":\"sealed.…\"}}: {e.Message}",
            statusCode: StatusCodes.Status400BadRequest),
        SealedSecretException => TypedResults.Problem(title: "sealed secret refused", detail: e.Message, statusCode: StatusCodes.Status403Forbidden,
            type: SecretProblemTypes.Refused),
        NoSecretTrustException => TypedResults.Problem(title: "no sealed secret signers", detail: e.Message, statusCode: StatusCodes.Status409Conflict,
            type: SecretProblemTypes.NotConfigured),
        _ => KbsResourceApi.Problem(e, broker),
    };

    private sealed class NoSecretTrustException() : Exception(NodeSecrets.NotConfiguredReason(hasBroker: true));
}

/// <summary>The request of <c>POST /v1/secret/unseal</c>.</summary>
public sealed record SecretUnsealRequest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sealed")] string Sealed);

/// <summary>The problem types of <c>POST /v1/secret/unseal</c> beside the broker's.</summary>
public static class SecretProblemTypes
{
    /// <summary>The sealed secret was refused: malformed, an untrusted or wrong signature, or it does not open.</summary>
    public const string Refused = "urn:trustlaunch:problem:secret-refused";

    /// <summary>The agent was started without <c>--secret-trust</c>.</summary>
    public const string NotConfigured = "urn:trustlaunch:problem:secret-trust-not-configured";
}

[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(SecretUnsealRequest))]
public sealed partial class SecretJsonContext : JsonSerializerContext;
