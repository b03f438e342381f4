using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Agent.Apis;

/// <summary>
/// <c>POST /v1/kbs/resource {"uri":"kbs:///REPOSITORY/TYPE/TAG"}</c> on the agent's unix socket (root's only, behind
/// <see cref="LocalApi"/>'s socket-only filter): the resource's bytes (application/octet-stream) after a whole
/// handshake with the agent's broker. Problems: 400 bad request or URI (another broker's included), 403
/// <see cref="KbsProblemTypes.Refused"/> with the broker's error name and detail, 409 no <c>--kbs</c>, 502 the
/// broker unreachable or its answer refused, 503 log and launch PCR not reconciled.
/// </summary>
public static class KbsResourceApi
{
    /// <summary>The request is one URI: anything larger is not one.</summary>
    public const int MaxRequestBytes = 4096;

    public static void MapKbsResourceApi(this RouteGroupBuilder group) => group.MapPost("/kbs/resource", FetchAsync);

    // A handler of more than the HttpContext, so not a bare RequestDelegate: the API explorer describes it in /openapi.json.
    private static Task FetchAsync(HttpContext context, [FromServices] NodeKeyBroker? broker) =>
        RespondWithBytesAsync(context, () => FetchCoreAsync(context, broker), e => Problem(e, broker));

    /// <summary>Answers with the bytes <paramref name="release"/> hands over (wiped once written), or the problem
    /// <paramref name="problem"/> makes of its exception; other exceptions propagate.</summary>
    internal static async Task RespondWithBytesAsync(HttpContext context, Func<Task<byte[]>> release, Func<Exception, IResult?> problem, string? contentType = null)
    {
        byte[]? bytes = null;
        try
        {
            bytes = await release().ConfigureAwait(false);
            context.Response.ContentType = contentType ?? "application/octet-stream";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (problem(e) is { } result)
        {
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
        finally
        {
            if (bytes is not null)
                CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static async Task<byte[]> FetchCoreAsync(HttpContext context, NodeKeyBroker? broker)
    {
        if (context.Request.ContentLength > MaxRequestBytes)
            throw new JsonException($"the body is over {MaxRequestBytes} bytes");
        var request = await JsonSerializer.DeserializeAsync(context.Request.Body, KbsResourceJsonContext.Default.KbsResourceRequest, context.RequestAborted)
            .ConfigureAwait(false) ?? throw new JsonException("the body is null");
        if (broker is null)
            throw new InvalidOperationException("this agent has no key broker: start it with serve agent --kbs https://HOST:8080");
        return await broker.FetchAsync(request.Uri, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The problem a failed <see cref="NodeKeyBroker.FetchAsync(string, CancellationToken)"/> answers with; null for any other exception.</summary>
    internal static IResult? Problem(Exception e, NodeKeyBroker? broker) => e switch
    {
        JsonException => TypedResults.Problem(title: "bad kbs resource request", detail: $"the body is not {{\"uri\":\"kbs:///REPOSITORY/TYPE/TAG\"}}: {e.Message}",
            statusCode: StatusCodes.Status400BadRequest),
        ResourceUriRefusedException => TypedResults.Problem(title: "bad kbs resource request", detail: e.Message, statusCode: StatusCodes.Status400BadRequest),
        InvalidOperationException when broker is null => TypedResults.Problem(title: "no key broker", detail: e.Message, statusCode: StatusCodes.Status409Conflict,
            type: KbsProblemTypes.NotConfigured),
        KbsRefusedException => TypedResults.Problem(title: "the key broker refused", detail: e.Message, statusCode: StatusCodes.Status403Forbidden,
            type: KbsProblemTypes.Refused),
        KbsProtocolException => TypedResults.Problem(title: "the key broker's answer is refused", detail: e.Message, statusCode: StatusCodes.Status502BadGateway,
            type: KbsProblemTypes.AnswerRefused),
        HttpRequestException or TaskCanceledException when broker is not null => TypedResults.Problem(title: "key broker unreachable",
            detail: $"key broker {broker.Broker} unreachable: {e.Message}", statusCode: StatusCodes.Status502BadGateway, type: KbsProblemTypes.Unreachable),
        LaunchLogNotReadyException => TypedResults.Problem(title: "launch log and PCR not reconciled", detail: e.Message,
            statusCode: StatusCodes.Status503ServiceUnavailable, type: ProblemTypes.LogPcrDisagree),
        _ => null,
    };
}
